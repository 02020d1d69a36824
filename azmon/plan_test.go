package azmon

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

type recList [][]byte

func (r recList) Len() int            { return len(r) }
func (r recList) Record(i int) []byte { return r[i] }

func records(sizes ...int) recList {
	var out recList
	for i, n := range sizes {
		prefix := fmt.Sprintf(`{"i":%d,"s":"`, i)
		out = append(out, []byte(prefix+strings.Repeat("x", n-len(prefix)-2)+`"}`))
	}
	return out
}

func TestPlanCutsUnderTheLimitInOrder(t *testing.T) {
	c := &Client{cfg: Config{MaxRequestBytes: 100}, log: slog.New(slog.DiscardHandler)}
	recs := records(30, 30, 30, 30, 150, 97, 99, 20)
	done := make([]bool, len(recs))
	done[1] = true // already accepted by an earlier flush
	var out Outcome
	batches := c.plan(recs, done, &out)
	want := [][]int{{0, 2, 3}, {5}, {7}}
	if fmt.Sprint(batches) != fmt.Sprint(want) {
		t.Errorf("batches = %v, want %v", batches, want)
	}
	// Records 4 (150 bytes) and 6 (99 + brackets) cannot fit alone.
	if out.Dropped() != 2 || !done[4] || !done[6] {
		t.Errorf("oversized records not dropped: %+v %v", out, done)
	}
	for _, b := range batches {
		size := 1
		for k, i := range b {
			if k > 0 {
				size++
			}
			size += len(recs[i])
		}
		if size+1 > 100 {
			t.Errorf("batch %v is %d bytes", b, size+1)
		}
	}
}

func TestRetryWait(t *testing.T) {
	tests := []struct {
		err   error
		retry bool
		exact time.Duration
	}{
		{&StatusError{Status: 429, RetryAfter: 3 * time.Second}, true, 3 * time.Second},
		{&StatusError{Status: 503}, true, 0},
		{&StatusError{Status: 500}, true, 0},
		{&StatusError{Status: 408}, true, 0},
		{errors.New("connection reset by peer"), true, 0},
		{&StatusError{Status: 403}, false, 0},
		{&StatusError{Status: 404}, false, 0},
		{&StatusError{Status: 401}, false, 0},
		{&StatusError{Status: 400, Code: "InvalidStream"}, false, 0},
	}
	for _, tc := range tests {
		d, ok := retryWait(tc.err, 1)
		if ok != tc.retry {
			t.Errorf("%v: retry = %v, want %v", tc.err, ok, tc.retry)
		}
		if tc.exact > 0 && d != tc.exact {
			t.Errorf("%v: wait %v, want %v", tc.err, d, tc.exact)
		}
		if ok && tc.exact == 0 && (d < 125*time.Millisecond || d > 375*time.Millisecond) {
			t.Errorf("%v: backoff %v outside the jitter range", tc.err, d)
		}
	}
	if _, ok := retryWait(&StatusError{Status: 500}, maxAttempts); ok {
		t.Error("retries should stop at maxAttempts")
	}
}

func TestStatusErrorExplains(t *testing.T) {
	tests := []struct {
		err  *StatusError
		want string
	}{
		{&StatusError{Status: 403}, "Monitoring Metrics Publisher"},
		{&StatusError{Status: 404}, "DCR immutable id"},
		{&StatusError{Status: 400, Code: "InvalidStream", Message: "stream not found"}, "Custom-<table>"},
		{&StatusError{Status: 413, Code: "ContentLengthLimitExceeded"}, "1 MiB"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%q does not mention %q", got, tc.want)
		}
	}
}

func TestParseEndpointURL(t *testing.T) {
	e, err := ParseEndpointURL("https://keeperlogsendpoint-mcag.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-123/streams/Custom-KeeperSecurityEventNewLogs?api-version=2023-01-01")
	if err != nil {
		t.Fatal(err)
	}
	if e.Base != "https://keeperlogsendpoint-mcag.eastus-1.ingest.monitor.azure.com" || e.DCRID != "dcr-123" || e.Stream != "Custom-KeeperSecurityEventNewLogs" {
		t.Errorf("parsed %+v", e)
	}
	for _, bad := range []string{"", "https://x", "https://x/dataCollectionRules/dcr-1/streams/", "ftp://x/dataCollectionRules/dcr-1/streams/Custom-A"} {
		if _, err := ParseEndpointURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "secret", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, Credentials{ClientSecret: s}, Credentials{ClientSecret: s}, s), b.String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret printed: %s", out)
		}
	}
}

func TestProxySelection(t *testing.T) {
	hc, err := newHTTPClient("", "http://proxy.corp.example:3128", 4)
	if err != nil {
		t.Fatal(err)
	}
	tr := hc.Transport.(*http.Transport)
	tests := []struct {
		url   string
		proxy string
	}{
		{"https://keeperlogsendpoint-mcag.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Custom-A", "http://proxy.corp.example:3128"},
		{"https://login.microsoftonline.com/tenant/oauth2/v2.0/token", "http://proxy.corp.example:3128"},
		{"http://169.254.169.254/metadata/identity/oauth2/token", ""}, // IMDS is never proxied
		{"https://127.0.0.1:8443/x", ""},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		u, err := tr.Proxy(req)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if u != nil {
			got = u.String()
		}
		if got != tc.proxy {
			t.Errorf("%s: proxy %q, want %q", tc.url, got, tc.proxy)
		}
	}
}
