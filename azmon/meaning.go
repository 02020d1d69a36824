package azmon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// This file is the one place that decides what an answer of the Logs
// Ingestion API, or a failure to get one, means: whether the request is
// tried again, split or given up, whether every other request would meet
// the same, and what an operator reads about it. The client's retry step,
// its splitting, its log lines and keeper-azmon check's diagnosis all
// read Explain.

// Action is what the client does with a request after an attempt failed.
type Action int

const (
	// Retry: transient; try again within the flush, after Retry-After or a
	// backoff.
	Retry Action = iota + 1
	// Reauth: the service refused the token; get a new one and try once more.
	Reauth
	// Split: the request is too large or holds records the service rejects:
	// split it, and drop a record rejected alone.
	Split
	// GiveUp: no retry within this flush can change it; the records stay
	// pending for Fluent Bit's retry of the chunk.
	GiveUp
)

// Cause is why an attempt failed, in the terms an operator acts on.
type Cause int

// The causes Explain tells apart.
const (
	CauseUnknown      Cause = iota // an error no rule names
	CauseRedirect                  // 3xx: something that is not the service answered
	CauseTokenRefused              // 401: the service refused the token
	CauseRole                      // 403: the identity may not send to the DCR
	CauseNotFound                  // 404: no such DCR behind this endpoint
	CauseStream                    // 400: the DCR does not declare the stream
	CauseAPIVersion                // 400: the api-version is refused
	CauseTooLarge                  // 413: the request is over the service's limit
	CauseInvalidData               // 400 with another service code: the records are refused
	CauseRefused                   // another 4xx, or a 400 without a service code (a proxy's)
	CauseThrottled                 // 429
	CauseUnavailable               // 408, 5xx
	CauseNetwork                   // no answer: DNS, connection, TLS, proxy, timeout
	CauseEntra                     // Entra ID (or the identity endpoint) refused the token request
	CauseNoToken                   // no token came: the identity provider was not reached
	CauseCanceled                  // the flush's deadline or Fluent Bit's shutdown cut it short
)

// Meaning is what Explain says of an error.
type Meaning struct {
	Cause  Cause
	Action Action
	// Shared reports an error that every other request of the flush would
	// meet too (a refused role, an unknown stream, no token): the flush
	// stops sending once this request gives up.
	Shared bool
	// Hint tells an operator what usually fixes it; "" when nothing does
	// but time.
	Hint string
}

// Explain says what err, the error of one attempt (a *StatusError,
// *TokenError, *TransportError or a context error), means.
func Explain(err error) Meaning {
	var se *StatusError
	if errors.As(err, &se) {
		return explainStatus(se.Status, se.Code)
	}
	var te *TokenError
	if errors.As(err, &te) {
		switch {
		case isContextError(err):
			return Meaning{Cause: CauseCanceled, Action: GiveUp}
		case te.Code() != "":
			// Entra said no: a wrong secret stays wrong.
			return Meaning{Cause: CauseEntra, Action: GiveUp, Shared: true, Hint: EntraHint(te.Code())}
		}
		return Meaning{Cause: CauseNoToken, Action: Retry, Shared: true}
	}
	if isContextError(err) {
		return Meaning{Cause: CauseCanceled, Action: GiveUp}
	}
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) {
		// An untrusted certificate stays untrusted until ca_file changes.
		return Meaning{Cause: CauseNetwork, Action: GiveUp, Hint: "the TLS certificate is not trusted: set ca_file to the CA of a TLS-inspecting proxy"}
	}
	if NetworkKind(err) != NetNone {
		return Meaning{Cause: CauseNetwork, Action: Retry}
	}
	return Meaning{Cause: CauseUnknown, Action: Retry}
}

// explainStatus is the table of the service's answers.
func explainStatus(status int, code string) Meaning {
	switch {
	case status/100 == 3:
		return Meaning{CauseRedirect, GiveUp, false, "the endpoint redirects: check the host in endpoint_url, and any proxy or captive portal on the way"}
	case status == 401:
		// Shared once the refresh did not help: the next token is refused too.
		return Meaning{CauseTokenRefused, Reauth, true, "the token was refused: check tenant_id, cloud and scope"}
	case status == 403:
		return Meaning{CauseRole, GiveUp, true, "assign the role Monitoring Metrics Publisher on the DCR to the app, then allow up to 30 minutes to propagate"}
	case status == 404:
		return Meaning{CauseNotFound, GiveUp, true, "check the data collection endpoint and the DCR immutable id"}
	case status == 408:
		return Meaning{CauseUnavailable, Retry, false, ""}
	case status == 413:
		return Meaning{CauseTooLarge, Split, false, "request over 1 MiB"}
	case status == 429:
		return Meaning{CauseThrottled, Retry, false, "throttled by the service"}
	case status >= 500:
		return Meaning{CauseUnavailable, Retry, false, ""}
	case status == 400 && isCode(code, "InvalidStream"):
		return Meaning{CauseStream, GiveUp, true, "the DCR does not accept this stream: check stream_name (Custom-<table>) and that the DCR declares it"}
	case status == 400 && isCode(code, "InvalidApiVersion", "InvalidApiVersionParameter", "MissingApiVersionParameter", "UnsupportedApiVersion"):
		return Meaning{CauseAPIVersion, GiveUp, true, "the endpoint refused the api-version: endpoint_url must end in ?api-version=" + APIVersion}
	case status == 400 && code != "":
		// The service named an error that is not about the configuration:
		// the records themselves are refused.
		return Meaning{CauseInvalidData, Split, false, ""}
	}
	// A 400 without a service code comes from something on the way (a
	// proxy): no record is dropped for it.
	return Meaning{CauseRefused, GiveUp, false, ""}
}

// isCode reports whether the service's error code is one of codes.
func isCode(code string, codes ...string) bool {
	for _, c := range codes {
		if strings.EqualFold(code, c) {
			return true
		}
	}
	return false
}

// NetKind names a kind of network failure.
type NetKind string

// The kinds NetworkKind tells apart.
const (
	NetNone         NetKind = ""              // not a network failure
	NetDNS          NetKind = "dns"           // the host name does not resolve
	NetRefused      NetKind = "refused"       // nothing listens, or a firewall rejects
	NetUnreachable  NetKind = "unreachable"   // no route
	NetTimeout      NetKind = "timeout"       // no answer in time
	NetReset        NetKind = "reset"         // the connection was cut
	NetProxy        NetKind = "proxy"         // the proxy failed to connect
	NetTLSUntrusted NetKind = "tls-untrusted" // the certificate's CA is not trusted
	NetTLSHostname  NetKind = "tls-hostname"  // the certificate is for another name
	NetTLS          NetKind = "tls"           // another TLS failure
	NetOther        NetKind = "other"         // another network error
)

// NetworkKind says which kind of network failure err is, by the types the
// standard library gives such failures, or NetNone.
func NetworkKind(err error) NetKind {
	if err == nil {
		return NetNone
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		alert     tls.AlertError
		record    tls.RecordHeaderError
		opErr     *net.OpError
		dnsErr    *net.DNSError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &unknownCA):
		return NetTLSUntrusted
	case errors.As(err, &hostErr):
		return NetTLSHostname
	case errors.As(err, &invalid), errors.As(err, &verifyErr), errors.As(err, &alert), errors.As(err, &record):
		return NetTLS
	case errors.As(err, &opErr) && opErr.Op == "proxyconnect":
		return NetProxy
	case errors.As(err, &dnsErr):
		return NetDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return NetRefused
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return NetUnreachable
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return NetTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return NetReset
	case errors.As(err, &netErr):
		return NetOther
	}
	return NetNone
}
