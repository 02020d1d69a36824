package azmon

import (
	"context"
	"fmt"
	"os"
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
	Auth     AuthMode
	TenantID string
	ClientID string

	// ClientSecret, or ClientSecretFile read at every credential start
	// (a Kubernetes secret mount), for AuthClientSecret.
	ClientSecret     Secret
	ClientSecretFile string

	// CertificatePath is a PEM file with the certificate and its key, or
	// a PFX file opened with CertificatePassword, for AuthClientCertificate.
	// SendCertificateChain sends the x5c header (subject name / issuer auth).
	CertificatePath      string
	CertificatePassword  Secret
	SendCertificateChain bool

	// ManagedIdentityClientID or ManagedIdentityResourceID pick a
	// user-assigned identity; neither means the system-assigned one.
	ManagedIdentityClientID   string
	ManagedIdentityResourceID string

	// FederatedTokenFile is the workload identity token file
	// (AZURE_FEDERATED_TOKEN_FILE); it is read again at every token request,
	// so a rotated file is picked up.
	FederatedTokenFile string

	Cloud Cloud
	// AuthorityHost overrides Cloud.AuthorityHost (private clouds, tests);
	// instance discovery is off when it is set.
	AuthorityHost string
	// Scope overrides Cloud.Scope.
	Scope string
}

// Authority is the effective authority host: AuthorityHost, else the
// cloud's.
func (c Credentials) Authority() string {
	if c.AuthorityHost != "" {
		return c.AuthorityHost
	}
	return c.Cloud.AuthorityHost
}

// TokenScope is the effective token scope: Scope, else the cloud's.
func (c Credentials) TokenScope() string {
	if c.Scope != "" {
		return c.Scope
	}
	return c.Cloud.Scope
}

// FieldError is a configuration error about one field of Config, which it
// names as a Go selector from Config ("MaxRequestBytes",
// "Credentials.ClientSecretFile"), so that a caller can map it to its own
// names (the plugin's properties) without reading the message.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// fieldError makes a FieldError from a message about field.
func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate checks that the mode has what it needs.
func (c Credentials) Validate() error {
	need := func(v, field, hint string) error {
		if v == "" {
			return fieldError("Credentials."+field, "required for auth %s (%s)", c.Auth, hint)
		}
		return nil
	}
	var errs []error
	switch c.Auth {
	case AuthClientSecret:
		errs = append(errs, need(c.TenantID, "TenantID", "the Directory (tenant) ID"), need(c.ClientID, "ClientID", "the Application (client) ID"))
		if c.ClientSecret == "" && c.ClientSecretFile == "" {
			errs = append(errs, need("", "ClientSecret", "the secret's Value, or a file holding it"))
		}
		if c.ClientSecret != "" && c.ClientSecretFile != "" {
			errs = append(errs, fieldError("Credentials.ClientSecretFile", "a secret and a secret file are both set: set one"))
		}
	case AuthClientCertificate:
		errs = append(errs, need(c.TenantID, "TenantID", "the Directory (tenant) ID"), need(c.ClientID, "ClientID", "the Application (client) ID"), need(c.CertificatePath, "CertificatePath", "PEM with key, or PFX"))
	case AuthWorkloadIdentity:
		errs = append(errs, need(c.TenantID, "TenantID", "or AZURE_TENANT_ID"), need(c.ClientID, "ClientID", "or AZURE_CLIENT_ID"), need(c.FederatedTokenFile, "FederatedTokenFile", "or AZURE_FEDERATED_TOKEN_FILE"))
	case AuthManagedIdentity:
		if c.ManagedIdentityClientID != "" && c.ManagedIdentityResourceID != "" {
			errs = append(errs, fieldError("Credentials.ManagedIdentityResourceID", "a user-assigned identity is named both by client id and by resource id: name it once"))
		}
	case AuthDefault:
	default:
		return fieldError("Credentials.Auth", "auth mode %q unknown", c.Auth)
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// newCredential builds the azidentity credential for the mode. Each call
// returns a credential with an empty token cache and reads secret files
// again.
func newCredential(c Credentials, transport policy.Transporter) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: c.Authority()},
		Transport: transport,
		// The client bounds every call with the flush deadline; one quick
		// retry inside azidentity is enough.
		Retry: policy.RetryOptions{MaxRetries: 1},
	}
	switch c.Auth {
	case AuthClientSecret:
		return clientSecretCredential(c, opts)
	case AuthClientCertificate:
		return clientCertificateCredential(c, opts)
	case AuthWorkloadIdentity:
		return workloadIdentityCredential(c, opts)
	case AuthManagedIdentity:
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		switch {
		case c.ManagedIdentityClientID != "":
			mo.ID = azidentity.ClientID(c.ManagedIdentityClientID)
		case c.ManagedIdentityResourceID != "":
			mo.ID = azidentity.ResourceID(c.ManagedIdentityResourceID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(mo)
		if err != nil {
			return nil, fmt.Errorf("managed identity credential: %w", err)
		}
		return cred, nil
	case AuthDefault:
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts, TenantID: c.TenantID, DisableInstanceDiscovery: c.AuthorityHost != ""})
		if err != nil {
			return nil, fmt.Errorf("default credential chain: %w", err)
		}
		return cred, nil
	}
	return nil, fmt.Errorf("auth mode %q unknown", c.Auth)
}

// clientSecretCredential reads the secret (from its file, when one is
// named) and builds the credential of an app registration.
func clientSecretCredential(c Credentials, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	secret := string(c.ClientSecret)
	if c.ClientSecretFile != "" {
		b, err := os.ReadFile(c.ClientSecretFile)
		if err != nil {
			return nil, &FieldError{"Credentials.ClientSecretFile", err}
		}
		if secret = strings.TrimSpace(string(b)); secret == "" {
			return nil, fieldError("Credentials.ClientSecretFile", "%s is empty", c.ClientSecretFile)
		}
	}
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: c.AuthorityHost != ""})
	if err != nil {
		return nil, fmt.Errorf("client secret credential for tenant %s: %w", c.TenantID, err)
	}
	return cred, nil
}

// clientCertificateCredential reads the certificate and its key (PEM or
// PFX) and builds the credential of an app registration.
func clientCertificateCredential(c Credentials, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	data, err := os.ReadFile(c.CertificatePath)
	if err != nil {
		return nil, &FieldError{"Credentials.CertificatePath", err}
	}
	certs, key, err := azidentity.ParseCertificates(data, []byte(c.CertificatePassword))
	if err != nil {
		return nil, &FieldError{"Credentials.CertificatePath", fmt.Errorf("%s: %w", c.CertificatePath, err)}
	}
	cred, err := azidentity.NewClientCertificateCredential(c.TenantID, c.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: c.AuthorityHost != "", SendCertificateChain: c.SendCertificateChain})
	if err != nil {
		return nil, fmt.Errorf("certificate credential for tenant %s: %w", c.TenantID, err)
	}
	return cred, nil
}

// workloadIdentityCredential builds a credential whose assertion is the
// federated token file, read again for every token (the kubelet rotates it).
func workloadIdentityCredential(c Credentials, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	file := c.FederatedTokenFile
	assertion := func(context.Context) (string, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("federated token file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	cred, err := azidentity.NewClientAssertionCredential(c.TenantID, c.ClientID, assertion,
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: c.AuthorityHost != ""})
	if err != nil {
		return nil, fmt.Errorf("workload identity credential for tenant %s: %w", c.TenantID, err)
	}
	return cred, nil
}
