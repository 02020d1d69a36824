package azmon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

func TestExplain(t *testing.T) {
	tests := []struct {
		err    error
		cause  Cause
		action Action
		shared bool
	}{
		{&StatusError{Status: 302}, CauseRedirect, GiveUp, false},
		{&StatusError{Status: 400, Code: "InvalidStream"}, CauseStream, GiveUp, true},
		{&StatusError{Status: 400, Code: "invalidstream"}, CauseStream, GiveUp, true},
		{&StatusError{Status: 400, Code: "InvalidApiVersion"}, CauseAPIVersion, GiveUp, true},
		{&StatusError{Status: 400, Code: "MissingApiVersionParameter"}, CauseAPIVersion, GiveUp, true},
		{&StatusError{Status: 400, Code: "InvalidContent"}, CauseInvalidData, Split, false},
		// A code that only mentions a stream is not the stream error.
		{&StatusError{Status: 400, Code: "StreamRecordMalformed"}, CauseInvalidData, Split, false},
		{&StatusError{Status: 400}, CauseRefused, GiveUp, false},
		{&StatusError{Status: 401}, CauseTokenRefused, Reauth, true},
		{&StatusError{Status: 403, Code: "OperationFailed"}, CauseRole, GiveUp, true},
		{&StatusError{Status: 404}, CauseNotFound, GiveUp, true},
		{&StatusError{Status: 405}, CauseRefused, GiveUp, false},
		{&StatusError{Status: 408}, CauseUnavailable, Retry, false},
		{&StatusError{Status: 413}, CauseTooLarge, Split, false},
		{&StatusError{Status: 429}, CauseThrottled, Retry, false},
		{&StatusError{Status: 503}, CauseUnavailable, Retry, false},
		{fmt.Errorf("2 of 3 requests failed, first: %w", &StatusError{Status: 403}), CauseRole, GiveUp, true},
		{&TokenError{Err: entraError(7000215, "AADSTS7000215: Invalid client secret provided")}, CauseEntra, GiveUp, true},
		{&TokenError{Err: errors.New("AADSTS7000215 in text only"), Network: &net.DNSError{Err: "no such host", Name: "login"}}, CauseNoToken, Retry, true},
		{&TokenError{Err: fmt.Errorf("waiting: %w", context.DeadlineExceeded)}, CauseCanceled, GiveUp, false},
		{&TransportError{Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, CauseNetwork, GiveUp, false},
		{&TransportError{Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, CauseNetwork, Retry, false},
		{&TransportError{Err: context.DeadlineExceeded}, CauseCanceled, GiveUp, false},
		{errors.New("something else"), CauseUnknown, Retry, false},
	}
	for _, tc := range tests {
		m := Explain(tc.err)
		if m.Cause != tc.cause || m.Action != tc.action || m.Shared != tc.shared {
			t.Errorf("Explain(%v) = %+v, want cause %d action %d shared %v", tc.err, m, tc.cause, tc.action, tc.shared)
		}
	}
}

func TestNetworkKindByType(t *testing.T) {
	tests := []struct {
		err  error
		want NetKind
	}{
		{&net.DNSError{Err: "no such host", Name: "x.example.com", IsNotFound: true}, NetDNS},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, NetRefused},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, NetUnreachable},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, NetReset},
		{&net.OpError{Op: "proxyconnect", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, NetProxy},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, NetTLSUntrusted},
		{&tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}}, NetTLSHostname},
		{tls.AlertError(40), NetTLS},
		{fmt.Errorf("post: %w", context.DeadlineExceeded), NetTimeout},
		{io.ErrUnexpectedEOF, NetReset},
		{&TokenError{Err: errors.New("text"), Network: &net.DNSError{Err: "no such host"}}, NetDNS},
		// Text alone decides nothing.
		{errors.New("dial tcp: connection refused"), NetNone},
		{errors.New("x509: certificate signed by unknown authority"), NetNone},
		{nil, NetNone},
	}
	for _, tc := range tests {
		if got := NetworkKind(tc.err); got != tc.want {
			t.Errorf("NetworkKind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestEntraCodeFromTheAnswer(t *testing.T) {
	te := &TokenError{Scope: "s", Err: entraError(7000222, "AADSTS7000222: The provided client secret keys are expired.\r\nTrace ID: x")}
	if te.Code() != "AADSTS7000222" || EntraReasonOf(te.Code()) != EntraSecretExpired {
		t.Errorf("code %q", te.Code())
	}
	if d := te.Description(); d != "AADSTS7000222: The provided client secret keys are expired.; Trace ID: x" {
		t.Errorf("description %q", d)
	}
	// An error that only says a code in its text has none.
	if c := (&TokenError{Err: errors.New("AADSTS7000215")}).Code(); c != "" {
		t.Errorf("code %q read from text", c)
	}
}

// TestNoDecisionReadsErrorText keeps errors travelling as values: no
// production code compares, searches or cuts an error's message (display
// is fine: a message may be printed, never read).
func TestNoDecisionReadsErrorText(t *testing.T) {
	reads := regexp.MustCompile(`(strings|bytes)\.(Contains|ContainsAny|HasPrefix|HasSuffix|Index|LastIndex|EqualFold|Cut|TrimPrefix|Split|Fields)\([^;{]*\.Error\(\)|\.Error\(\) *[!=]=`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if reads.MatchString(line) {
				t.Errorf("%s:%d reads an error's text: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
