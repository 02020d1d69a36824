// Package testkit holds the small helpers that the plugin's, the command's
// and the end-to-end tests share.
package testkit

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

// SyncBuffer is a bytes.Buffer that log writers on several goroutines and
// a reading test can share.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Len is the number of bytes written so far.
func (s *SyncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// Properties is a working keeper_azmon output configuration for stream on
// the emulator s: its tenant, app and secret, endpoint, authority and CA.
func Properties(s *azmontest.Server, stream string) map[string]string {
	return map[string]string{
		"tenant_id":      s.Opts.TenantID,
		"client_id":      s.Opts.ClientID,
		"client_secret":  s.Opts.ClientSecret,
		"authority_host": s.AuthorityHost(),
		"endpoint_url":   s.EndpointURL(stream),
		"ca_file":        s.CAFile,
	}
}

// WorkloadIdentityEnv is what the AKS workload identity webhook injects
// into a pod, pointing at the emulator s and the token file.
func WorkloadIdentityEnv(s *azmontest.Server, tokenFile string) map[string]string {
	return map[string]string{
		"AZURE_FEDERATED_TOKEN_FILE": tokenFile,
		"AZURE_CLIENT_ID":            s.Opts.ClientID,
		"AZURE_TENANT_ID":            s.Opts.TenantID,
		"AZURE_AUTHORITY_HOST":       s.AuthorityHost(),
	}
}

// WriteFile writes content to dir/name, creating directories, and returns
// the path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
