package azmontest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request is the emulator's log entry for one ingestion call.
type Request struct {
	Stream     string
	Status     int    // status answered; 0 for a reset connection or a client that went away
	Records    int    // records in the body (0 if unparseable)
	BodyBytes  int    // uncompressed body size (0 if it could not be determined)
	WireBytes  int    // bytes on the wire
	Gzip       bool   // Content-Encoding: gzip
	APIVersion string // the api-version query parameter as sent
	Err        string // error code returned, if any ("reset" for a reset connection, "canceled" for a client that went away)

	// TypeMismatches counts the values of an accepted request that did not fit their column
	// and were stored as nil.
	TypeMismatches int
	// Injected reports that a scripted fault or the fault mix applied to this request (a pure
	// Delay included; the request was then processed normally).
	Injected bool
	// ContentType and ClientRequestID are the Content-Type and x-ms-client-request-id headers.
	ContentType, ClientRequestID string
	// RequestID is the x-ms-request-id the emulator answered with ("" for a reset connection or
	// a foreign answer, which carry none).
	RequestID string
	// Header is the request's headers, Authorization left out.
	Header http.Header
}

// Limits on what the emulator reads past MaxBodyBytes just to report sizes (and to let the
// client finish sending, so that it sees the 413 rather than a broken pipe).
const (
	drainLimit   = 64 << 20
	inflateLimit = 256 << 20
)

// body is a request body read within the limits.
type body struct {
	data       []byte // uncompressed body; nil when over the limit or undecodable
	wireN      int64  // bytes read on the wire
	dataN      int64  // uncompressed bytes (counted past the limit up to inflateLimit); -1 unknown
	overWire   bool
	overData   bool
	gzipErr    error
	readErr    error
	contentLen int64
}

// readBody reads the request body without ever buffering more than MaxBodyBytes+1 bytes.
func (s *Server) readBody(r *http.Request, gz bool) body {
	max := int64(s.Opts.MaxBodyBytes)
	b := body{dataN: -1, contentLen: r.ContentLength}
	raw, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	b.wireN = int64(len(raw))
	if err != nil {
		b.readErr = err
		return b
	}
	if b.wireN > max {
		b.overWire = true
		n, err := io.Copy(io.Discard, io.LimitReader(r.Body, drainLimit))
		b.wireN += n
		b.readErr = err
		return b
	}
	if !gz {
		b.data, b.dataN = raw, b.wireN
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		b.gzipErr = err
		return b
	}
	data, err := io.ReadAll(io.LimitReader(zr, max+1))
	b.dataN = int64(len(data))
	if err != nil {
		b.gzipErr = err
		return b
	}
	if b.dataN > max {
		b.overData = true
		n, err := io.Copy(io.Discard, io.LimitReader(zr, inflateLimit))
		b.dataN += n
		if err != nil {
			b.gzipErr = err
		}
		return b
	}
	b.data = data
	return b
}

// providedLength is the size reported in the 413 message.
func (b body) providedLength() int64 {
	if b.overData {
		return b.dataN
	}
	if b.contentLen > b.wireN {
		return b.contentLen
	}
	return b.wireN
}

// sizeMessage is the service's 413 message.
func sizeMessage(max int, provided int64) string {
	unit := ""
	switch {
	case max%(1<<20) == 0:
		unit = fmt.Sprintf(" (%d MB)", max>>20)
	case max%(1<<10) == 0:
		unit = fmt.Sprintf(" (%d KB)", max>>10)
	}
	return fmt.Sprintf("Maximum allowed content length: %d bytes%s. Provided content length: %d bytes.", max, unit, provided)
}

// decodeArray parses a JSON array of objects, with numbers as json.Number.
func decodeArray(data []byte) ([]map[string]any, int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var items []any
	if err := dec.Decode(&items); err != nil {
		var n []json.RawMessage
		if json.Unmarshal(data, &n) == nil {
			return nil, len(n), err
		}
		return nil, 0, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, len(items), errors.New("unexpected data after the top-level JSON array")
	}
	if items == nil {
		return nil, 0, errors.New("the body is not a JSON array")
	}
	rows := make([]map[string]any, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, len(items), fmt.Errorf("item %d of the JSON array is not an object", i)
		}
		rows[i] = m
	}
	return rows, len(rows), nil
}

// countRecords counts the items of a JSON array, 0 if the body is not one.
func countRecords(data []byte) int {
	var n []json.RawMessage
	if json.Unmarshal(data, &n) != nil {
		return 0
	}
	return len(n)
}

// writeIngestError writes the service's error body: {"error":{"code":...,"message":...}} with
// the x-ms-error-code header. An empty code writes no body.
func writeIngestError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	if code == "" {
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-ms-error-code", code)
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+strings.ReplaceAll(message, `"`, `'`)+`"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": message}})
}

// serveIngest handles /dataCollectionRules/...: POST /dataCollectionRules/{dcr}/streams/{stream}.
//
// The checks, in order, after any fault:
//   - api-version missing: 400 MissingApiVersionParameter; not 2023-01-01 or 2021-11-01-preview:
//     400 InvalidApiVersionParameter (the emulator's codes, ARM's naming);
//   - Authorization not "Bearer <token this server issued>": 401 InvalidToken; expired: 401
//     TokenExpired (the service's code as seen in the field);
//   - unknown DCR immutable id: 404 NotFound (the emulator's code);
//   - stream not declared in the DCR: 400 InvalidStream (the service's code, asserted by
//     azure-sdk-for-go's azlogs tests);
//   - Content-Type not application/json: 415 UnsupportedMediaType; Content-Encoding other than
//     gzip or identity: 415 UnsupportedContentEncoding (the emulator's codes);
//   - over MaxBodyBytes on the wire or uncompressed: 413 ContentLengthLimitExceeded, "Maximum
//     allowed content length: 1048576 bytes (1 MB). Provided content length: N bytes." (the
//     service's code and message, asserted by azure-sdk-for-net's live tests);
//   - empty body: 500 without an error body (as the service answers, per the same tests);
//   - body not gzip when it says so, or not a JSON array of objects: 400 InvalidContent (the
//     emulator's code; the service documents a 400 "malformed JSON" error);
//   - a row matching RejectRecords: 400 InvalidContent;
//   - else 204 No Content and the rows are stored after column filtering.
func (s *Server) serveIngest(w http.ResponseWriter, r *http.Request, parts []string) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	hdr := r.Header.Clone()
	hdr.Del("Authorization")
	rec := Request{
		Header:          hdr,
		APIVersion:      r.URL.Query().Get("api-version"),
		Gzip:            enc == "gzip",
		ContentType:     r.Header.Get("Content-Type"),
		ClientRequestID: r.Header.Get("x-ms-client-request-id"),
	}
	if id := rec.ClientRequestID; id != "" {
		w.Header().Set("x-ms-client-request-id", id)
	}
	// Every answer of the service carries its own request id; a reset or a
	// foreign answer (a proxy's) has none, and drops it below.
	rec.RequestID = newGUID()
	w.Header().Set("x-ms-request-id", rec.RequestID)
	var dcr, stream string
	routeOK := len(parts) == 4 && strings.EqualFold(parts[2], "streams") && parts[1] != "" && parts[3] != ""
	if routeOK {
		dcr, stream = parts[1], parts[3]
		rec.Stream = stream
	}
	log := func(status int, code string) {
		rec.Status, rec.Err = status, code
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
	}
	if !routeOK {
		writeIngestError(w, http.StatusNotFound, "NotFound", "The requested resource was not found.")
		log(http.StatusNotFound, "NotFound")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeIngestError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Only POST is supported.")
		log(http.StatusMethodNotAllowed, "MethodNotAllowed")
		return
	}

	f, injected := s.nextIngestFault()
	rec.Injected = injected
	b := s.readBody(r, rec.Gzip)
	rec.WireBytes = int(b.wireN)
	if b.dataN >= 0 {
		rec.BodyBytes = int(b.dataN)
	}
	if b.data != nil && !s.Opts.CountOnly {
		rec.Records = countRecords(b.data)
	}
	if b.readErr != nil {
		log(0, "canceled")
		return
	}

	if !s.sleep(r.Context(), f.Delay) {
		log(0, "canceled")
		return
	}
	if f.Reset {
		rec.RequestID = ""
		log(0, "reset")
		resetConn(w)
		return
	}
	if f.Status != 0 && f.Foreign {
		rec.RequestID = ""
		w.Header().Del("x-ms-request-id")
		w.Header().Del("x-ms-client-request-id")
		if f.Status/100 == 3 {
			w.Header().Set("Location", "/captive-portal/login")
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(f.Status)
		io.WriteString(w, http.StatusText(f.Status)+"\n")
		log(f.Status, "")
		return
	}
	if f.Status != 0 {
		code, msg := defaultIngestError(f.Status, dcr)
		if f.Status == http.StatusRequestEntityTooLarge {
			msg = sizeMessage(s.Opts.MaxBodyBytes, b.providedLength())
		}
		if f.Code != "" {
			code = f.Code
		}
		if f.Message != "" {
			msg = f.Message
		}
		setRetryAfter(w.Header(), f.RetryAfter)
		writeIngestError(w, f.Status, code, msg)
		log(f.Status, code)
		return
	}

	fail := func(status int, code, msg string) {
		writeIngestError(w, status, code, msg)
		log(status, code)
	}
	switch rec.APIVersion {
	case APIVersion, APIVersionPreview:
	case "":
		fail(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	default:
		fail(http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid. The supported versions are '%s,%s'.", rec.APIVersion, APIVersion, APIVersionPreview))
		return
	}
	if code, msg := s.checkBearer(r.Header.Get("Authorization")); code != "" {
		fail(http.StatusUnauthorized, code, msg)
		return
	}
	if dcr != s.Opts.DCRID {
		fail(http.StatusNotFound, "NotFound", fmt.Sprintf("Data collection rule with immutable Id '%s' not found.", dcr))
		return
	}
	cols, declared := s.Opts.Streams[stream]
	if !declared {
		fail(http.StatusBadRequest, "InvalidStream", fmt.Sprintf("Stream '%s' is not declared in the data collection rule with immutable Id '%s'.", stream, dcr))
		return
	}
	if mt, _, err := mime.ParseMediaType(rec.ContentType); err != nil || mt != "application/json" {
		fail(http.StatusUnsupportedMediaType, "UnsupportedMediaType", fmt.Sprintf("Content-Type '%s' is not supported; use 'application/json'.", rec.ContentType))
		return
	}
	if enc != "" && enc != "gzip" && enc != "identity" {
		fail(http.StatusUnsupportedMediaType, "UnsupportedContentEncoding", fmt.Sprintf("Content-Encoding '%s' is not supported; use 'gzip' or none.", enc))
		return
	}
	if b.overWire || b.overData {
		fail(http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded", sizeMessage(s.Opts.MaxBodyBytes, b.providedLength()))
		return
	}
	if b.gzipErr != nil {
		fail(http.StatusBadRequest, "InvalidContent", "The request body could not be decompressed: "+b.gzipErr.Error())
		return
	}
	if len(bytes.TrimSpace(b.data)) == 0 {
		fail(http.StatusInternalServerError, "", "")
		return
	}
	if s.Opts.CountOnly {
		w.WriteHeader(http.StatusNoContent)
		rec.Status = http.StatusNoContent
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
		return
	}
	rows, _, err := decodeArray(b.data)
	if err != nil {
		fail(http.StatusBadRequest, "InvalidContent", "The request body is not a valid JSON array of objects: "+err.Error())
		return
	}
	s.mu.Lock()
	reject := s.reject
	s.mu.Unlock()
	if reject != nil {
		for i, row := range rows {
			if reject(row) {
				fail(http.StatusBadRequest, "InvalidContent", fmt.Sprintf("The request body contains invalid data: record %d of %d could not be processed.", i, len(rows)))
				return
			}
		}
	}
	stored := make([]map[string]any, len(rows))
	for i, row := range rows {
		var n int
		stored[i], n = filterRow(row, cols)
		rec.TypeMismatches += n
	}
	w.WriteHeader(http.StatusNoContent)
	rec.Status = http.StatusNoContent
	s.mu.Lock()
	s.rows[stream] = append(s.rows[stream], stored...)
	s.mismatches += rec.TypeMismatches
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

// checkBearer validates an Authorization header; it returns an error code and message, or "".
func (s *Server) checkBearer(h string) (string, string) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if h == "" {
		return "InvalidToken", "The Authorization header is missing; a Bearer token is required."
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "InvalidToken", "The Authorization header must be 'Bearer <token>'."
	}
	s.mu.Lock()
	t := s.tokens[strings.TrimSpace(tok)]
	var revoked bool
	var exp time.Time
	if t != nil {
		revoked, exp = t.revoked, t.expires
	}
	s.mu.Unlock()
	switch {
	case t == nil:
		return "InvalidToken", "The access token is invalid: it was not issued by this tenant."
	case revoked:
		return "InvalidToken", "The access token has been revoked."
	case !time.Now().Before(exp):
		return "TokenExpired", "The access token expired at " + exp.UTC().Format(time.RFC3339) + "."
	}
	return "", ""
}

// filterRow keeps the declared columns of a row (all fields when cols is nil) and replaces
// values that do not fit their column's type by nil. It returns the count of such values.
func filterRow(row map[string]any, cols []Column) (map[string]any, int) {
	if cols == nil {
		return row, 0
	}
	out := make(map[string]any, len(cols))
	bad := 0
	for _, c := range cols {
		v, ok := row[c.Name]
		if !ok {
			continue
		}
		if v != nil && !fits(v, c.Type) {
			v = nil
			bad++
		}
		out[c.Name] = v
	}
	return out, bad
}

// fits reports whether a decoded JSON value (numbers as json.Number) fits a column type.
func fits(v any, typ string) bool {
	switch typ {
	case TypeDynamic:
		return true
	case TypeString:
		_, ok := v.(string)
		return ok
	case TypeBoolean:
		_, ok := v.(bool)
		return ok
	case TypeInt, TypeLong:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		bits := 64
		if typ == TypeInt {
			bits = 32
		}
		_, err := strconv.ParseInt(n.String(), 10, bits)
		return err == nil
	case TypeReal:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Float64()
		return err == nil
	case TypeDatetime:
		str, ok := v.(string)
		return ok && isDatetime(str)
	}
	return false
}

// isDatetime reports whether s is a datetime a datetime column accepts: RFC 3339 and the
// ISO 8601 variants the service's docs use ("2023-11-14 15:10:02").
func isDatetime(s string) bool {
	for _, l := range [...]string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02",
	} {
		if _, err := time.Parse(l, s); err == nil {
			return true
		}
	}
	return false
}
