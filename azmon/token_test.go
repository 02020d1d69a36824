package azmon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// fakeCred hands out numbered tokens, slowly enough that concurrent callers
// overlap, and fails while fail is set.
type fakeCred struct {
	calls    atomic.Int32
	fail     atomic.Bool
	lifetime time.Duration
	now      func() time.Time
	release  chan struct{}
}

func (f *fakeCred) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := f.calls.Add(1)
	if f.release != nil {
		<-f.release
	}
	if f.fail.Load() {
		return azcore.AccessToken{}, entraError(7000215, "AADSTS7000215: Invalid client secret provided")
	}
	return azcore.AccessToken{Token: "tok-" + string(rune('0'+n)), ExpiresOn: f.now().Add(f.lifetime)}, nil
}

// entraError is the error azidentity returns for an Entra ID answer: an
// AuthenticationFailedError with the response, whose body says the code.
func entraError(code int, description string) error {
	body, _ := json.Marshal(map[string]any{"error": "invalid_client", "error_description": description, "error_codes": []int{code}})
	return &azidentity.AuthenticationFailedError{RawResponse: &http.Response{
		StatusCode: 401, Status: "401 Unauthorized", Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)),
	}}
}

func TestTokenSourceOneRefreshForManyCallers(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cred := &fakeCred{lifetime: time.Hour, now: func() time.Time { return now }, release: make(chan struct{})}
	ts := newTokenSource("scope", slog.New(slog.DiscardHandler), nil, func() (azcore.TokenCredential, error) { return cred, nil })
	ts.now = cred.now

	var wg sync.WaitGroup
	tokens := make([]string, 16)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := ts.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		}()
	}
	// Let every caller find the token missing before the fetch ends.
	for cred.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(cred.release)
	wg.Wait()
	if got := cred.calls.Load(); got != 1 {
		t.Errorf("16 concurrent callers caused %d token requests, want 1", got)
	}
	for _, tok := range tokens {
		if tok != "tok-1" {
			t.Errorf("caller got %q", tok)
		}
	}
}

func TestTokenSourceRefreshAheadAndFallback(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	cred := &fakeCred{lifetime: time.Hour, now: clock}
	ts := newTokenSource("scope", slog.New(slog.DiscardHandler), nil, func() (azcore.TokenCredential, error) { return cred, nil })
	ts.now = clock
	ctx := context.Background()

	tok, _ := ts.Token(ctx)
	now = now.Add(50 * time.Minute)
	if again, _ := ts.Token(ctx); again != tok || cred.calls.Load() != 1 {
		t.Fatalf("token fetched again while fresh")
	}
	// Within five minutes of expiry: refreshed.
	now = now.Add(6 * time.Minute)
	if next, _ := ts.Token(ctx); next == tok || cred.calls.Load() != 2 {
		t.Fatalf("token not refreshed ahead of expiry")
	}
	// Near expiry with Entra failing: the still valid token is used.
	now = now.Add(57 * time.Minute)
	cred.fail.Store(true)
	if got, err := ts.Token(ctx); err != nil || got != "tok-2" {
		t.Fatalf("fallback = %q, %v; want the valid token", got, err)
	}
	// Expired and Entra failing: an error that names the code.
	now = now.Add(10 * time.Minute)
	_, err := ts.Token(ctx)
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want TokenError", err)
	}
	if msg := err.Error(); !contains(msg, "AADSTS7000215") || !contains(msg, "not its Secret ID") {
		t.Errorf("error does not explain the code: %s", msg)
	}
	// Invalidate forces a new credential and token.
	cred.fail.Store(false)
	got, _ := ts.Token(ctx)
	ts.Invalidate(got)
	if again, _ := ts.Token(ctx); again == got {
		t.Error("Invalidate did not force a new token")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestTokenSourceBacksOffAfterFailedRefresh: while Entra ID fails and the
// token is still valid, requests do not each cause a token call.
func TestTokenSourceBacksOffAfterFailedRefresh(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	cred := &fakeCred{lifetime: time.Hour, now: clock}
	ts := newTokenSource("scope", slog.New(slog.DiscardHandler), nil, func() (azcore.TokenCredential, error) { return cred, nil })
	ts.now = clock
	ctx := context.Background()
	ts.Token(ctx)
	now = now.Add(56 * time.Minute) // stale, still valid
	cred.fail.Store(true)
	for range 100 {
		if tok, err := ts.Token(ctx); err != nil || tok != "tok-1" {
			t.Fatalf("Token = %q, %v; want the valid token", tok, err)
		}
	}
	if got := cred.calls.Load(); got != 2 {
		t.Errorf("%d token calls for 100 requests after a failed refresh, want 2 (one refresh)", got)
	}
	now = now.Add(maxRefreshBackoff)
	cred.fail.Store(false)
	if tok, _ := ts.Token(ctx); tok == "tok-1" {
		t.Error("no refresh after the backoff")
	}
}

// TestTokenSourceWaiterOutlivesRefresherDeadline: a flush whose deadline
// cuts the shared refresh short must not fail the flushes waiting on it.
func TestTokenSourceWaiterOutlivesRefresherDeadline(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	cred := credFunc(func(ctx context.Context) (azcore.AccessToken, error) {
		if calls.Add(1) == 1 {
			select {
			case <-ctx.Done():
				return azcore.AccessToken{}, ctx.Err()
			case <-release:
			}
		}
		return azcore.AccessToken{Token: "fresh", ExpiresOn: time.Now().Add(time.Hour)}, nil
	})
	ts := newTokenSource("scope", slog.New(slog.DiscardHandler), nil, func() (azcore.TokenCredential, error) { return cred, nil })

	short, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := ts.Token(short); first <- err }()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan string, 1)
	go func() { tok, _ := ts.Token(context.Background()); second <- tok }()
	time.Sleep(20 * time.Millisecond) // the second caller waits on the first's refresh
	cancel()
	if err := <-first; err == nil {
		t.Error("the cancelled caller got a token")
	}
	if tok := <-second; tok != "fresh" {
		t.Errorf("the waiting caller got %q, want a token of its own refresh", tok)
	}
	close(release)
}

// credFunc is a TokenCredential from a function.
type credFunc func(ctx context.Context) (azcore.AccessToken, error)

func (f credFunc) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return f(ctx)
}
