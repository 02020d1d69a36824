package azmon

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TokenError is a failure to get a token from Entra ID (or the identity
// endpoint of a managed identity).
type TokenError struct {
	Scope string
	Err   error // what the credential said
	// Network is the failure of the credential's last HTTP call, when it
	// got no answer: azidentity reports such failures only as text.
	Network error
}

func (e *TokenError) Error() string {
	if code := e.Code(); code != "" {
		if hint := EntraHint(code); hint != "" {
			return fmt.Sprintf("token for scope %s: %s (%s): %s", e.Scope, code, hint, firstLine(e.Err.Error()))
		}
		return fmt.Sprintf("token for scope %s: %s: %s", e.Scope, code, firstLine(e.Err.Error()))
	}
	return fmt.Sprintf("token for scope %s: %s", e.Scope, firstLine(e.Err.Error()))
}

// Unwrap returns the credential's error and the network failure, if any.
func (e *TokenError) Unwrap() []error {
	if e.Network != nil {
		return []error{e.Err, e.Network}
	}
	return []error{e.Err}
}

// entraAnswer is the body of an Entra ID error answer.
type entraAnswer struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// answer reads Entra's error answer from the response azidentity keeps.
func (e *TokenError) answer() (entraAnswer, bool) {
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(e.Err, &afe) || afe.RawResponse == nil {
		return entraAnswer{}, false
	}
	body, err := runtime.Payload(afe.RawResponse)
	var a entraAnswer
	if err != nil || json.Unmarshal(body, &a) != nil {
		return entraAnswer{}, false
	}
	return a, true
}

// Code is the Entra ID error code of the answer (AADSTSnnnn, from its
// error_codes), or "" when Entra ID did not answer with one (a network
// failure, an identity endpoint).
func (e *TokenError) Code() string {
	if a, ok := e.answer(); ok && len(a.Codes) > 0 {
		return "AADSTS" + strconv.Itoa(a.Codes[0])
	}
	return ""
}

// Description is what Entra ID (or the identity endpoint) said, from its
// answer's error_description, or "" without one.
func (e *TokenError) Description() string {
	if a, ok := e.answer(); ok {
		return firstLine(a.Description)
	}
	return ""
}

// EntraReason is what an Entra ID error code means for this plugin's
// configuration.
type EntraReason int

// The reasons EntraReasonOf tells apart.
const (
	EntraOther                 EntraReason = iota // a code no rule names
	EntraSecretInvalid                            // the client secret is wrong (often its Secret ID)
	EntraSecretExpired                            // the client secret has expired
	EntraAppNotFound                              // client_id is not an app of the tenant
	EntraTenantNotFound                           // tenant_id is unknown (or in another cloud)
	EntraResourceNotFound                         // the scope names no resource of this cloud
	EntraNoCredential                             // the request carried no credential
	EntraAssertionRefused                         // a certificate or federated token was refused
	EntraNoFederatedCredential                    // no federated credential matches the token
)

// EntraReasonOf is the one table of the Entra ID codes an operator of this
// plugin meets.
func EntraReasonOf(code string) EntraReason {
	switch code {
	case "AADSTS7000215":
		return EntraSecretInvalid
	case "AADSTS7000222":
		return EntraSecretExpired
	case "AADSTS700016":
		return EntraAppNotFound
	case "AADSTS90002", "AADSTS900023":
		return EntraTenantNotFound
	case "AADSTS500011", "AADSTS70011":
		return EntraResourceNotFound
	case "AADSTS7000218":
		return EntraNoCredential
	case "AADSTS700027", "AADSTS700024", "AADSTS700021", "AADSTS50027":
		return EntraAssertionRefused
	case "AADSTS70021":
		return EntraNoFederatedCredential
	}
	return EntraOther
}

// EntraHint explains an Entra ID error code in a few words, "" for one no
// rule names.
func EntraHint(code string) string {
	switch EntraReasonOf(code) {
	case EntraSecretInvalid:
		return "invalid client secret: use the secret's Value, not its Secret ID"
	case EntraSecretExpired:
		return "the client secret has expired: create a new one"
	case EntraAppNotFound:
		return "application (client) ID not found in this tenant"
	case EntraTenantNotFound:
		return "tenant not found: check tenant_id"
	case EntraResourceNotFound:
		return "resource not found: check cloud / scope"
	case EntraNoCredential:
		return "no credential was sent: set client_secret or a certificate"
	case EntraAssertionRefused:
		return "client assertion rejected: check the certificate or federated token"
	case EntraNoFederatedCredential:
		return "no federated credential matches this token's issuer and subject"
	}
	return ""
}

// firstLine keeps an error to one log line.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "To troubleshoot") {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(l)
		if b.Len() > 400 {
			break
		}
	}
	return b.String()
}

// StatusError is an answer of the ingestion endpoint other than success.
type StatusError struct {
	Status     int
	Code       string        // the service's error code, if it gave one
	Message    string        // the service's message, if it gave one
	RetryAfter time.Duration // from the Retry-After header, 0 if absent
	// RequestID is the service's x-ms-request-id for the answer, and
	// ClientRequestID the x-ms-client-request-id the request carried:
	// Azure support traces a failed ingestion by them.
	RequestID, ClientRequestID string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("status %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if h := e.hint(); h != "" {
		s += " (" + h + ")"
	}
	if e.RequestID != "" {
		s += " x-ms-request-id=" + e.RequestID
	}
	if e.ClientRequestID != "" {
		s += " x-ms-client-request-id=" + e.ClientRequestID
	}
	return s
}

// hint tells an operator what usually fixes the error (Explain's table).
func (e *StatusError) hint() string { return explainStatus(e.Status, e.Code).Hint }

// TransportError is an attempt that got no answer: DNS, connection, TLS,
// proxy or timeout. Err is what the network said.
type TransportError struct {
	Endpoint        string // the data collection endpoint posted to
	ClientRequestID string // the x-ms-client-request-id the request carried
	Err             error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("post to %s (x-ms-client-request-id %s): %v", e.Endpoint, e.ClientRequestID, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// RequestIDs returns the ids Azure support traces a failed ingestion by,
// from an error of Send or a Drop's: the service's x-ms-request-id ("" when
// no answer came) and the request's x-ms-client-request-id.
func RequestIDs(err error) (requestID, clientRequestID string) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RequestID, se.ClientRequestID
	}
	var te *TransportError
	if errors.As(err, &te) {
		return "", te.ClientRequestID
	}
	return "", ""
}

// parseErrorBody reads {"error":{"code":..,"message":..}} bodies.
func parseErrorBody(body []byte) (code, message string) {
	var v struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil && (v.Error.Code != "" || v.Error.Message != "") {
		return v.Error.Code, firstLine(v.Error.Message)
	}
	return "", firstLine(string(body))
}
