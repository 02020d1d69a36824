package azmontest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestIngestion(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	tok := rawToken(t, s)
	keeper := mustJSON(t, []any{keeperRecord(), keeperRecord()})
	max := s.Opts.MaxBodyBytes

	// exactly is a JSON array of exactly n bytes.
	exactly := func(n int) []byte {
		head, tail := `[{"a":"`, `"}]`
		return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
	}
	dcrURL := func(dcr, stream, query string) string {
		return s.URL + "/dataCollectionRules/" + dcr + "/streams/" + stream + query
	}

	for _, tc := range []struct {
		name    string
		target  string
		token   string
		body    []byte
		hdr     map[string]string
		status  int
		code    string
		msg     string // substring of error.message
		records int    // rows expected stored in the target stream by this request
	}{
		{name: "keeper rows", target: s.EndpointURL(StreamKeeperMarketplace), body: keeper, status: 204, records: 2},
		{name: "gzip", target: s.EndpointURL(StreamKeeperLogs), body: gz(t, keeper), hdr: map[string]string{"Content-Encoding": "gzip"}, status: 204, records: 2},
		{name: "preview api-version", target: dcrURL(s.Opts.DCRID, StreamRaw, "?api-version=2021-11-01-preview"), body: []byte(`[{"x":1}]`), status: 204, records: 1},
		{name: "empty array", target: s.EndpointURL(StreamRaw), body: []byte(`[]`), status: 204},
		{name: "exactly the limit", target: s.EndpointURL(StreamRaw), body: exactly(max), status: 204, records: 1},
		{name: "one byte over the limit", target: s.EndpointURL(StreamRaw), body: exactly(max + 1), status: 413, code: "ContentLengthLimitExceeded",
			msg: "Maximum allowed content length: 1048576 bytes (1 MB). Provided content length: 1048577 bytes."},
		{name: "uncompressed over the limit", target: s.EndpointURL(StreamRaw), body: gz(t, exactly(max+1)), hdr: map[string]string{"Content-Encoding": "gzip"},
			status: 413, code: "ContentLengthLimitExceeded", msg: "Provided content length: 1048577 bytes."},
		{name: "far over the limit", target: s.EndpointURL(StreamRaw), body: exactly(3 * max), status: 413, code: "ContentLengthLimitExceeded", msg: fmt.Sprintf("Provided content length: %d bytes.", 3*max)},
		{name: "bad JSON", target: s.EndpointURL(StreamRaw), body: []byte(`[{"a":1},`), status: 400, code: "InvalidContent"},
		{name: "object not array", target: s.EndpointURL(StreamRaw), body: []byte(`{"a":1}`), status: 400, code: "InvalidContent"},
		{name: "array of numbers", target: s.EndpointURL(StreamRaw), body: []byte(`[1,2]`), status: 400, code: "InvalidContent"},
		{name: "trailing garbage", target: s.EndpointURL(StreamRaw), body: []byte(`[{"a":1}] x`), status: 400, code: "InvalidContent"},
		{name: "NaN is not JSON", target: s.EndpointURL(StreamRaw), body: []byte(`[{"a":NaN}]`), status: 400, code: "InvalidContent"},
		{name: "empty body", target: s.EndpointURL(StreamRaw), body: nil, status: 500},
		{name: "not gzip", target: s.EndpointURL(StreamRaw), body: []byte(`[{"a":1}]`), hdr: map[string]string{"Content-Encoding": "gzip"}, status: 400, code: "InvalidContent"},
		{name: "brotli", target: s.EndpointURL(StreamRaw), body: []byte(`[{"a":1}]`), hdr: map[string]string{"Content-Encoding": "br"}, status: 415, code: "UnsupportedContentEncoding"},
		{name: "text/plain", target: s.EndpointURL(StreamRaw), body: []byte(`[{"a":1}]`), hdr: map[string]string{"Content-Type": "text/plain"}, status: 415, code: "UnsupportedMediaType"},
		{name: "json with charset", target: s.EndpointURL(StreamRaw), body: []byte(`[{"a":1}]`), hdr: map[string]string{"Content-Type": "application/json; charset=utf-8"}, status: 204, records: 1},
		{name: "unknown stream", target: s.EndpointURL("Custom-Nope_CL"), body: keeper, status: 400, code: "InvalidStream", msg: "Custom-Nope_CL"},
		{name: "unknown DCR", target: dcrURL("dcr-ffffffffffffffffffffffffffffffff", StreamRaw, "?api-version=2023-01-01"), body: keeper, status: 404, code: "NotFound"},
		{name: "no api-version", target: dcrURL(s.Opts.DCRID, StreamRaw, ""), body: keeper, status: 400, code: "MissingApiVersionParameter"},
		{name: "unknown api-version", target: dcrURL(s.Opts.DCRID, StreamRaw, "?api-version=2020-01-01"), body: keeper, status: 400, code: "InvalidApiVersionParameter"},
		{name: "no Authorization", target: s.EndpointURL(StreamRaw), token: "-", body: keeper, status: 401, code: "InvalidToken"},
		{name: "foreign token", target: s.EndpointURL(StreamRaw), token: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", body: keeper, status: 401, code: "InvalidToken"},
		{name: "bad route", target: s.URL + "/dataCollectionRules/" + s.Opts.DCRID + "?api-version=2023-01-01", body: keeper, status: 404, code: "NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := tok
			switch tc.token {
			case "-":
				token = ""
			case "":
			default:
				token = tc.token
			}
			stream := streamOf(tc.target)
			before := s.RowCount(stream)
			r := ingest(t, s, tc.target, token, tc.body, tc.hdr)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.status != tc.status || r.code != tc.code {
				t.Fatalf("got %d %q %v, want %d %q", r.status, r.code, r.body, tc.status, tc.code)
			}
			if tc.code != "" {
				e, _ := r.body["error"].(map[string]any)
				if e["code"] != tc.code {
					t.Errorf("body error.code = %v, want %s", e["code"], tc.code)
				}
			}
			if tc.msg != "" && !strings.Contains(r.errMessage(), tc.msg) {
				t.Errorf("message %q lacks %q", r.errMessage(), tc.msg)
			}
			if got := s.RowCount(stream) - before; got != tc.records {
				t.Errorf("stored %d rows, want %d", got, tc.records)
			}
			reqs := s.Requests()
			last := reqs[len(reqs)-1]
			if last.Status != tc.status || last.Err != tc.code {
				t.Errorf("log entry %+v", last)
			}
		})
	}
}

// streamOf returns the stream named in an ingestion URL.
func streamOf(target string) string {
	_, after, _ := strings.Cut(target, "/streams/")
	stream, _, _ := strings.Cut(after, "?")
	return stream
}

func TestColumnFiltering(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Streams: map[string][]Column{
		"Custom-Typed": {
			{"s", TypeString}, {"i", TypeInt}, {"l", TypeLong}, {"r", TypeReal},
			{"b", TypeBoolean}, {"d", TypeDatetime}, {"dyn", TypeDynamic},
		},
		"Custom-Any": nil,
	}})
	tok := rawToken(t, s)
	body := `[
		{"s":"x","i":6557,"l":9007199254740993,"r":1.5,"b":true,"d":"2025-01-12T00:03:44.743Z","dyn":{"k":[1,"a"]},"extra":"dropped"},
		{"s":1,"i":"6557","l":1.5,"r":"1.5","b":"true","d":"yesterday","dyn":"str"},
		{"i":2147483648,"d":"2023-11-14 15:10:02","s":null},
		{"i":-2147483648,"d":"2023-11-14T15:10:02","r":3}
	]`
	r := ingest(t, s, s.EndpointURL("Custom-Typed"), tok, []byte(body), nil)
	if r.status != 204 {
		t.Fatalf("%d %v", r.status, r.body)
	}
	want := []map[string]any{
		{"s": "x", "i": json.Number("6557"), "l": json.Number("9007199254740993"), "r": json.Number("1.5"), "b": true,
			"d": "2025-01-12T00:03:44.743Z", "dyn": map[string]any{"k": []any{json.Number("1"), "a"}}},
		{"s": nil, "i": nil, "l": nil, "r": nil, "b": nil, "d": nil, "dyn": "str"},
		{"i": nil, "d": "2023-11-14 15:10:02", "s": nil},
		{"i": json.Number("-2147483648"), "d": "2023-11-14T15:10:02", "r": json.Number("3")},
	}
	got := s.Rows("Custom-Typed")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %v\nwant %v", got, want)
	}
	if n := s.TypeMismatches(); n != 7 {
		t.Errorf("TypeMismatches = %d, want 7", n)
	}
	reqs := s.Requests()
	if reqs[0].TypeMismatches != 7 || reqs[0].Records != 4 {
		t.Errorf("log entry %+v", reqs[0])
	}

	// A nil column list keeps every field as sent.
	r = ingest(t, s, s.EndpointURL("Custom-Any"), tok, []byte(`[{"a":{"b":[1,2.5]},"c":"d"}]`), nil)
	if r.status != 204 {
		t.Fatalf("%d %v", r.status, r.body)
	}
	if got, want := s.Rows("Custom-Any"), []map[string]any{{"a": map[string]any{"b": []any{json.Number("1"), json.Number("2.5")}}, "c": "d"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("raw rows %v, want %v", got, want)
	}
	// Rows returns a copy.
	rows := s.Rows("Custom-Any")
	rows[0]["a"].(map[string]any)["b"] = "changed"
	if reflect.DeepEqual(s.Rows("Custom-Any"), rows) {
		t.Error("Rows shares state with the emulator")
	}
}

func TestKeeperStreamDropsUndeclaredFields(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	rec := keeperRecord()
	rec["role_id"] = "28162100560074" // outside the nine columns: a DCR drops it silently
	r := ingest(t, s, s.EndpointURL(StreamKeeperLogs), rawToken(t, s), mustJSON(t, []any{rec}), nil)
	if r.status != 204 {
		t.Fatalf("%d %v", r.status, r.body)
	}
	rows := s.Rows(StreamKeeperLogs)
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	if _, ok := rows[0]["role_id"]; ok {
		t.Error("undeclared field kept")
	}
	if len(rows[0]) != 9 || rows[0]["enterprise_id"] != json.Number("6557") {
		t.Errorf("row %v", rows[0])
	}
	if len(KeeperColumns()) != 9 {
		t.Error("KeeperColumns is not nine columns")
	}
}

func TestRequestLogAndReset(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	tok := rawToken(t, s)
	plain := mustJSON(t, []any{keeperRecord(), keeperRecord(), keeperRecord()})
	zipped := gz(t, plain)
	first := ingest(t, s, s.EndpointURL(StreamKeeperLogs), tok, plain, map[string]string{"x-ms-client-request-id": "req-1"})
	second := ingest(t, s, s.EndpointURL(StreamKeeperLogs), tok, zipped, map[string]string{"Content-Encoding": "gzip"})
	if got := first.header.Get("x-ms-client-request-id"); got != "req-1" {
		t.Errorf("x-ms-client-request-id echoed as %q, want req-1", got)
	}
	got := s.Requests()
	// Each answer has its own request id, logged as answered.
	for i, r := range []result{first, second} {
		if id := r.header.Get("x-ms-request-id"); id == "" || i >= len(got) || got[i].RequestID != id {
			t.Errorf("request %d: answered x-ms-request-id %q, logged %+v", i, id, got)
		}
	}
	if len(got) == 2 && got[0].RequestID == got[1].RequestID {
		t.Errorf("two answers share the request id %s", got[0].RequestID)
	}
	for i := range got {
		if got[i].Header.Get("Content-Type") != "application/json" || got[i].Header.Get("Authorization") != "" {
			t.Errorf("request %d: headers kept %v, want the request's without Authorization", i, got[i].Header)
		}
	}
	// The fields this test means; others have tests of their own.
	type view struct {
		Stream                 string
		Status, Records        int
		BodyBytes, WireBytes   int
		Gzip                   bool
		APIVersion             string
		ContentType, ClientReq string
	}
	see := func(rs []Request) (out []view) {
		for _, r := range rs {
			out = append(out, view{r.Stream, r.Status, r.Records, r.BodyBytes, r.WireBytes, r.Gzip, r.APIVersion, r.ContentType, r.ClientRequestID})
		}
		return out
	}
	want := []Request{
		{Stream: StreamKeeperLogs, Status: 204, Records: 3, BodyBytes: len(plain), WireBytes: len(plain), APIVersion: APIVersion,
			ContentType: "application/json", ClientRequestID: "req-1"},
		{Stream: StreamKeeperLogs, Status: 204, Records: 3, BodyBytes: len(plain), WireBytes: len(zipped), Gzip: true, APIVersion: APIVersion,
			ContentType: "application/json"},
	}
	if !reflect.DeepEqual(see(got), see(want)) {
		t.Errorf("Requests:\n got %+v\nwant %+v", see(got), see(want))
	}
	tokens := s.TokenRequests()
	s.Reset()
	if len(s.Requests()) != 0 || s.RowCount(StreamKeeperLogs) != 0 || s.TypeMismatches() != 0 {
		t.Error("Reset kept rows or logs")
	}
	if s.TokenRequests() != tokens {
		t.Error("Reset changed the token counter")
	}
	if r := ingest(t, s, s.EndpointURL(StreamKeeperLogs), tok, plain, nil); r.status != 204 {
		t.Errorf("token after Reset: %d", r.status)
	}
}

func TestCustomOptions(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{
		TenantID: "t1", ClientID: "c1", ClientSecret: "s1", DCRID: "dcr-1",
		Scope: "https://monitor.azure.us/.default", MaxBodyBytes: 1000,
		Streams: map[string][]Column{"Custom-X": {{"a", TypeString}}},
	})
	if s.EndpointURL("Custom-X") != s.URL+"/dataCollectionRules/dcr-1/streams/Custom-X?api-version=2023-01-01" {
		t.Errorf("EndpointURL %s", s.EndpointURL("Custom-X"))
	}
	tok := rawToken(t, s)
	r := ingest(t, s, s.EndpointURL("Custom-X"), tok, []byte(`[{"a":"`+strings.Repeat("x", 1000)+`"}]`), nil)
	if r.status != 413 || !strings.HasPrefix(r.errMessage(), "Maximum allowed content length: 1000 bytes. Provided content length: 1010 bytes.") {
		t.Errorf("%d %q", r.status, r.errMessage())
	}
	if r := ingest(t, s, s.EndpointURL(StreamKeeperLogs), tok, []byte(`[{"a":"b"}]`), nil); r.code != "InvalidStream" {
		t.Errorf("default streams still declared: %d %s", r.status, r.code)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("unknown column type did not panic")
			}
		}()
		NewServer(Options{Streams: map[string][]Column{"Custom-Y": {{"a", "varchar"}}}}).Close()
	}()
}

func TestCAFileAndClient(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	if !bytes.Contains(s.CAPEM(), []byte("BEGIN CERTIFICATE")) {
		t.Error("CAPEM")
	}
	if _, err := http.Get(s.URL + "/"); err == nil {
		t.Error("the default client trusts the emulator's certificate")
	}
	if s.AuthorityHost() != s.URL+"/" || s.DCEURL() != s.URL || !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
		t.Error("URLs")
	}
	pem, err := os.ReadFile(s.CAFile)
	if err != nil || !bytes.Equal(pem, s.CAPEM()) {
		t.Errorf("CAFile: %v", err)
	}
	s.Close()
	s.Close() // idempotent
	if _, err := os.Stat(s.CAFile); !os.IsNotExist(err) {
		t.Errorf("CAFile left after Close: %v", err)
	}
}
