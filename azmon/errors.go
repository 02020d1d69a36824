package azmon

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TokenError is a failure to get a token from Entra ID.
type TokenError struct {
	Scope string
	Err   error
}

func (e *TokenError) Error() string {
	msg := e.Err.Error()
	if code := findAADSTS(msg); code != "" {
		hint := aadstsHint(code)
		if hint != "" {
			return fmt.Sprintf("token for scope %s: %s (%s): %s", e.Scope, code, hint, firstLine(msg))
		}
		return fmt.Sprintf("token for scope %s: %s: %s", e.Scope, code, firstLine(msg))
	}
	return fmt.Sprintf("token for scope %s: %s", e.Scope, firstLine(msg))
}

func (e *TokenError) Unwrap() error { return e.Err }

// Code is the Entra ID error code (AADSTSnnnn) in the error, or "" when
// Entra ID did not answer with one (a network failure, say).
func (e *TokenError) Code() string { return findAADSTS(e.Err.Error()) }

// findAADSTS returns the first AADSTS error code in s, or "".
func findAADSTS(s string) string {
	i := strings.Index(s, "AADSTS")
	if i < 0 {
		return ""
	}
	j := i + len("AADSTS")
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i+len("AADSTS") {
		return ""
	}
	return s[i:j]
}

// aadstsHint explains the Entra ID errors an operator of this plugin meets.
func aadstsHint(code string) string {
	switch code {
	case "AADSTS7000215":
		return "invalid client secret: use the secret's Value, not its Secret ID"
	case "AADSTS7000222":
		return "the client secret has expired: create a new one"
	case "AADSTS700016":
		return "application (client) ID not found in this tenant"
	case "AADSTS90002", "AADSTS900023":
		return "tenant not found: check tenant_id"
	case "AADSTS500011":
		return "resource not found: check cloud / scope"
	case "AADSTS700027", "AADSTS700024":
		return "client assertion rejected: check the certificate or federated token"
	case "AADSTS70021":
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

// hint tells an operator what usually fixes the error.
func (e *StatusError) hint() string {
	switch {
	case e.Status/100 == 3:
		return "the endpoint redirects: check the host in endpoint_url, and any proxy or captive portal on the way"
	case e.Status == 401:
		return "the token was refused: check tenant_id, cloud and scope"
	case e.Status == 403:
		return "assign the role Monitoring Metrics Publisher on the DCR to the app, then allow up to 30 minutes to propagate"
	case e.Status == 404:
		return "check the data collection endpoint and the DCR immutable id"
	case e.Status == 413:
		return "request over 1 MiB"
	case e.Status == 429:
		return "throttled by the service"
	case e.configProblem():
		return "the DCR does not accept this request: check stream_name (Custom-<table>) and that the DCR declares it"
	}
	return ""
}

// configProblem reports a 400 that no record can cause: a stream the DCR
// does not declare, a bad api-version, a malformed URL.
func (e *StatusError) configProblem() bool {
	if e.Status != 400 {
		return false
	}
	c := strings.ToLower(e.Code)
	for _, k := range []string{"stream", "apiversion", "api-version", "datacollectionrule", "dcr", "endpoint", "uri", "url"} {
		if strings.Contains(c, k) {
			return true
		}
	}
	return false
}

// dataProblem reports a 400 that the records themselves may cause: the
// service named an error that is not about the configuration. A 400 with
// no service code (from a proxy, say) is not taken as bad data, so that
// no record is dropped for it.
func (e *StatusError) dataProblem() bool {
	return e.Status == 400 && e.Code != "" && !e.configProblem()
}

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
