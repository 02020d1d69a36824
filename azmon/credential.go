package azmon

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// AuthMode says how the client gets its Entra ID token.
type AuthMode string

// The authentication modes.
const (
	AuthClientSecret      AuthMode = "client_secret"
	AuthClientCertificate AuthMode = "client_certificate"
	AuthManagedIdentity   AuthMode = "managed_identity"
	AuthWorkloadIdentity  AuthMode = "workload_identity"
	AuthDefault           AuthMode = "default"
)

// ParseAuthMode checks an auth property value; "" is returned as is (to be inferred).
func ParseAuthMode(s string) (AuthMode, error) {
	m := AuthMode(strings.ToLower(strings.TrimSpace(s)))
	switch m {
	case "", AuthClientSecret, AuthClientCertificate, AuthManagedIdentity, AuthWorkloadIdentity, AuthDefault:
		return m, nil
	}
	return "", fmt.Errorf("unknown auth mode %q (want client_secret, client_certificate, managed_identity, workload_identity or default)", s)
}

// Credentials says who the client is and where it asks for tokens.
type Credentials struct {
	Auth         AuthMode
	TenantID     string
	ClientID     string
	ClientSecret Secret
	Cloud        Cloud
	// AuthorityHost overrides Cloud.AuthorityHost (private clouds, tests);
	// instance discovery is off when it is set.
	AuthorityHost string
	// Scope overrides Cloud.Scope.
	Scope string
}

// authority is the effective authority host.
func (c Credentials) authority() string {
	if c.AuthorityHost != "" {
		return c.AuthorityHost
	}
	return c.Cloud.AuthorityHost
}

// scope is the effective token scope.
func (c Credentials) scope() string {
	if c.Scope != "" {
		return c.Scope
	}
	return c.Cloud.Scope
}

// Validate checks that the mode has what it needs.
func (c Credentials) Validate() error {
	switch c.Auth {
	case AuthClientSecret:
		if c.TenantID == "" {
			return fmt.Errorf("tenant_id is required for auth client_secret")
		}
		if c.ClientID == "" {
			return fmt.Errorf("client_id is required for auth client_secret")
		}
		if c.ClientSecret == "" {
			return fmt.Errorf("client_secret is required for auth client_secret")
		}
	case "":
		return fmt.Errorf("auth mode not set")
	default:
		return fmt.Errorf("auth %s is not supported yet (use client_secret)", c.Auth)
	}
	return nil
}

// newCredential builds the azidentity credential for the mode. Each call
// returns a credential with an empty token cache.
func newCredential(c Credentials, transport *http.Client) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: c.authority()},
		Transport: transport,
		// The client bounds every call with the flush deadline; one quick
		// retry inside azidentity is enough.
		Retry: policy.RetryOptions{MaxRetries: 1},
	}
	switch c.Auth {
	case AuthClientSecret:
		cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, string(c.ClientSecret),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: c.AuthorityHost != ""})
		if err != nil {
			return nil, fmt.Errorf("client secret credential for tenant %s: %w", c.TenantID, err)
		}
		return cred, nil
	}
	return nil, fmt.Errorf("auth %s is not supported yet", c.Auth)
}
