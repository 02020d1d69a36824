package azmon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// refreshAhead is how long before expiry a token is replaced.
const refreshAhead = 5 * time.Minute

// tokenSource caches one bearer token for a client and refreshes it ahead of
// expiry, one refresh at a time however many requests find it stale.
type tokenSource struct {
	newCred func() (azcore.TokenCredential, error)
	watch   *transportWatch // the credentials' HTTP calls, for the failure of one that got no answer
	scope   string
	log     *slog.Logger
	obs     Observer
	now     func() time.Time

	mu         sync.Mutex
	cred       azcore.TokenCredential
	tok        azcore.AccessToken
	fetchedAt  time.Time
	refreshing chan struct{} // closed when the refresh under way ends
	lastErr    error
	failures   int       // refreshes failed in a row
	retryAt    time.Time // no refresh before this while the token is usable
}

func newTokenSource(scope string, log *slog.Logger, obs Observer, newCred func() (azcore.TokenCredential, error)) *tokenSource {
	if obs == nil {
		obs = noObserver{}
	}
	return &tokenSource{newCred: newCred, scope: scope, log: log, obs: obs, now: time.Now}
}

// fresh reports whether tok can be used without a refresh.
func (t *tokenSource) fresh(tok azcore.AccessToken, now time.Time) bool {
	if tok.Token == "" {
		return false
	}
	if !tok.RefreshOn.IsZero() && tok.RefreshOn.Before(tok.ExpiresOn) {
		return now.Before(tok.RefreshOn)
	}
	// Short-lived tokens are refreshed at half their life.
	ahead := min(refreshAhead, tok.ExpiresOn.Sub(t.fetchedAt)/2)
	return now.Add(ahead).Before(tok.ExpiresOn)
}

// usable reports whether tok has not expired yet (allowing a little clock skew).
func usable(tok azcore.AccessToken, now time.Time) bool {
	return tok.Token != "" && now.Add(30*time.Second).Before(tok.ExpiresOn)
}

// Token returns a bearer token, refreshing it when it is near expiry. A
// failed refresh falls back to the cached token while it is still valid,
// and is not tried again before a backoff has passed, so that an Entra ID
// outage costs one token call per backoff, not one per request.
func (t *tokenSource) Token(ctx context.Context) (string, error) {
	for {
		t.mu.Lock()
		now := t.now()
		if t.fresh(t.tok, now) || (usable(t.tok, now) && now.Before(t.retryAt)) {
			tok := t.tok.Token
			t.mu.Unlock()
			return tok, nil
		}
		if wait := t.refreshing; wait != nil {
			t.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return "", fmt.Errorf("waiting for token: %w", context.Cause(ctx))
			}
			t.mu.Lock()
			tok, err := t.tok, t.lastErr
			t.mu.Unlock()
			if usable(tok, t.now()) {
				return tok.Token, nil
			}
			// Another flush's refresh cut short by its own deadline says
			// nothing about this one: try again.
			if err != nil && !isContextError(err) {
				return "", err
			}
			continue
		}
		done := make(chan struct{})
		t.refreshing = done
		cred := t.cred
		t.mu.Unlock()

		tok, err := t.fetch(ctx, cred)

		t.mu.Lock()
		t.refreshing = nil
		t.lastErr = err
		switch {
		case err == nil:
			t.tok, t.fetchedAt = tok, now
			t.failures, t.retryAt = 0, time.Time{}
		case !isContextError(err):
			// Start the next attempt from a new credential, which reads
			// secret and token files again (they may have been rotated),
			// after a backoff.
			t.cred = nil
			t.failures++
			t.retryAt = now.Add(min(maxRefreshBackoff, time.Second<<min(t.failures, 6)))
		}
		old := t.tok
		t.mu.Unlock()
		close(done)
		if err == nil {
			return tok.Token, nil
		}
		if usable(old, t.now()) {
			t.log.Warn("token refresh failed; using the current token until it expires", "expires", old.ExpiresOn.UTC().Format(time.RFC3339), "error", err)
			return old.Token, nil
		}
		return "", err
	}
}

// maxRefreshBackoff bounds the wait between failed refreshes of a token
// that is still valid.
const maxRefreshBackoff = 30 * time.Second

// isContextError reports an error caused by a cancelled or expired context.
func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (t *tokenSource) fetch(ctx context.Context, cred azcore.TokenCredential) (azcore.AccessToken, error) {
	if cred == nil {
		c, err := t.newCred()
		if err != nil {
			return azcore.AccessToken{}, err
		}
		t.mu.Lock()
		if t.cred == nil {
			t.cred = c
		}
		cred = t.cred
		t.mu.Unlock()
	}
	t.watch.reset()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{t.scope}})
	t.obs.Token(err)
	if err != nil {
		return azcore.AccessToken{}, &TokenError{Scope: t.scope, Err: err, Network: t.watch.failure()}
	}
	return tok, nil
}

// transportWatch is the credentials' HTTP transport: it keeps the error of
// the last call that got no answer, as a value. azidentity passes such a
// failure on only as text; with it a token failure can be told apart by
// type (DNS, TLS, timeout) like an ingestion failure. Token refreshes run
// one at a time, so the last failure belongs to the refresh under way. A
// nil *transportWatch keeps nothing.
type transportWatch struct {
	next policy.Transporter
	mu   sync.Mutex
	last error
}

// Do implements policy.Transporter.
func (w *transportWatch) Do(req *http.Request) (*http.Response, error) {
	resp, err := w.next.Do(req)
	if err != nil {
		w.mu.Lock()
		w.last = err
		w.mu.Unlock()
	}
	return resp, err
}

func (w *transportWatch) reset() {
	if w != nil {
		w.mu.Lock()
		w.last = nil
		w.mu.Unlock()
	}
}

// failure is the error of the last call without an answer since reset.
func (w *transportWatch) failure() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		return nil
	}
	return unwrapURLError(w.last)
}

// Invalidate forgets token (after the service refused it with 401) so that
// the next Token call gets a new one from a credential with an empty cache.
// It does nothing if the cached token has already changed.
func (t *tokenSource) Invalidate(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok.Token == token {
		t.tok = azcore.AccessToken{}
		t.cred = nil
	}
}
