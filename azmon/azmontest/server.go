package azmontest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// Column is one column of a stream declaration in a Data Collection Rule.
type Column struct{ Name, Type string } // Type: string, int, long, real, boolean, datetime, dynamic

// Column types a stream declaration may use (the DCR's streamDeclarations types).
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeLong     = "long"
	TypeReal     = "real"
	TypeBoolean  = "boolean"
	TypeDatetime = "datetime"
	TypeDynamic  = "dynamic"
)

// Stream names declared by default.
const (
	// StreamKeeperLogs is the stream of the seed's manual setup (table KeeperLogs_CL).
	StreamKeeperLogs = "Custom-KeeperLogs_CL"
	// StreamKeeperMarketplace is the stream of the Marketplace solution's DCR
	// (table KeeperSecurityEventNewLogs_CL).
	StreamKeeperMarketplace = "Custom-KeeperSecurityEventNewLogs"
	// StreamRaw accepts any field unchanged.
	StreamRaw = "Custom-Raw_CL"
)

// Default identities and settings used when Options leaves them empty.
const (
	DefaultTenantID     = "11111111-2222-4333-8444-555555555555"
	DefaultClientID     = "66666666-7777-4888-9999-aaaaaaaaaaaa"
	DefaultClientSecret = "azmontest~Secret.Value_0123456789abcdefABCDEF"
	DefaultDCRID        = "dcr-0123456789abcdef0123456789abcdef"
	DefaultScope        = "https://monitor.azure.com/.default"
	// DefaultTokenLifetime is what Entra ID answers in expires_in.
	DefaultTokenLifetime = 3599 * time.Second
	// DefaultMaxBodyBytes is the Logs Ingestion API's per-call limit (1 MiB).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultFederatedIssuer is the issuer of the default federated identity credential.
	DefaultFederatedIssuer = "https://oidc.azmontest.invalid/cluster/"
	// DefaultFederatedSubject is the subject of the default federated identity credential
	// (a Kubernetes service account).
	DefaultFederatedSubject = "system:serviceaccount:logging:fluent-bit"
	// DefaultFederatedAudience is the audience Entra ID expects in federated tokens.
	DefaultFederatedAudience = "api://AzureADTokenExchange"
)

// API versions of the Logs Ingestion API the emulator accepts.
const (
	APIVersion        = "2023-01-01"
	APIVersionPreview = "2021-11-01-preview"
)

// KeeperColumns returns the nine columns of the Keeper stream (Custom-KeeperSecurityEventNewLogs / KeeperLogs_CL):
// TimeGenerated datetime, audit_event string, remote_address string, category string, client_version string,
// enterprise_id int, username string, timestamp datetime, data dynamic.
func KeeperColumns() []Column {
	return []Column{
		{"TimeGenerated", TypeDatetime},
		{"audit_event", TypeString},
		{"remote_address", TypeString},
		{"category", TypeString},
		{"client_version", TypeString},
		{"enterprise_id", TypeInt},
		{"username", TypeString},
		{"timestamp", TypeDatetime},
		{"data", TypeDynamic},
	}
}

// Options configure a Server. The zero value gives a working emulator.
type Options struct {
	TenantID, ClientID, ClientSecret string // defaults: DefaultTenantID, DefaultClientID, DefaultClientSecret
	// DCRID is the immutable id of the one Data Collection Rule. Default DefaultDCRID.
	DCRID string
	// Streams are the DCR's declared streams; a nil column slice accepts any field unchanged.
	// Default: StreamKeeperLogs and StreamKeeperMarketplace with KeeperColumns(), StreamRaw accepting anything,
	// and the StreamKeeperAsim* streams with the columns of their ASIM tables (ASIMTableColumns).
	Streams map[string][]Column
	// Scope is the scope the token request must carry. Default DefaultScope.
	Scope string
	// TokenLifetime is the expires_in of issued tokens. Default DefaultTokenLifetime.
	TokenLifetime time.Duration
	// MaxBodyBytes is the limit on the bytes on the wire and on the uncompressed body. Default DefaultMaxBodyBytes.
	MaxBodyBytes int

	// ClientCertificates are the certificates registered on the app registration: a client
	// assertion signed by the key of one of them (named by its x5t#S256, x5t or x5c header) is
	// accepted. See GenerateClientCertificate.
	ClientCertificates []*x509.Certificate
	// FederatedIssuer, FederatedSubject and FederatedAudience describe the app registration's one
	// federated identity credential (workload identity): an assertion whose iss, sub and aud
	// match, and which has not expired, is accepted. Its signature is not verified.
	// Defaults: DefaultFederatedIssuer, DefaultFederatedSubject, DefaultFederatedAudience.
	FederatedIssuer, FederatedSubject, FederatedAudience string
	// ManagedIdentityClientID is the client id of the user-assigned managed identity the
	// managed identity endpoint serves (system-assigned requests are served too).
	// Default: a fresh random GUID per server. Prefer a user-assigned identity with this id in
	// tests: MSAL caches managed identity tokens process-wide, keyed by identity only, so a
	// system-assigned token from one emulator would be handed to the next one.
	ManagedIdentityClientID string

	// CountOnly accepts well-formed requests (token, stream, size, gzip)
	// without decoding their JSON or storing rows, so that a benchmark
	// measures the client rather than the emulator. Requests are still logged.
	CountOnly bool
}

// Server is a running emulator: HTTPS on 127.0.0.1 (random port) with a certificate from its own fresh CA.
// One host serves as authority host (Entra) and as the data collection endpoint.
type Server struct {
	URL    string  // "https://127.0.0.1:PORT"
	CAFile string  // PEM of the CA, written into a temp dir that Close removes
	Opts   Options // resolved options (defaults filled in)

	// MSIURL is the base URL of the plain-HTTP loopback listener that serves only the
	// managed identity endpoint ("http://127.0.0.1:PORT").
	MSIURL string

	srv            *httptest.Server
	msi            *httptest.Server
	dir            string
	pool           *x509.CertPool
	caPEM          []byte
	jwtKey         *ecdsa.PrivateKey
	identityHeader string
	done           chan struct{}
	closeOnce      sync.Once

	mu            sync.Mutex
	tokens        map[string]*token
	rows          map[string][]map[string]any
	requests      []Request
	tokenRequests int
	msiRequests   int
	mismatches    int
	script        []Fault
	tokenScript   []Fault
	mix           FaultMix
	rng           *mrand.Rand
	reject        func(row map[string]any) bool
}

// token is what the emulator remembers of an access token it issued.
type token struct {
	expires time.Time
	revoked bool
}

// NewServer starts an emulator. It panics on setup failure, like httptest.NewServer.
// Call Close when done.
func NewServer(opts Options) *Server {
	s, err := newServer(opts)
	if err != nil {
		panic("azmontest: " + err.Error())
	}
	return s
}

func newServer(opts Options) (*Server, error) {
	o, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Opts:   o,
		done:   make(chan struct{}),
		tokens: map[string]*token{},
		rows:   map[string][]map[string]any{},
	}
	s.identityHeader = randomHex(16)
	s.jwtKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf, err := s.makeCA()
	if err != nil {
		return nil, err
	}
	s.dir, err = os.MkdirTemp("", "azmontest-")
	if err != nil {
		return nil, err
	}
	s.CAFile = filepath.Join(s.dir, "ca.pem")
	if err := os.WriteFile(s.CAFile, s.caPEM, 0o600); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}

	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTPS))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshake errors from untrusting clients
	s.srv.StartTLS()
	s.URL = s.srv.URL

	s.msi = httptest.NewServer(http.HandlerFunc(s.serveMSIOnly))
	s.MSIURL = s.msi.URL
	return s, nil
}

// resolve fills in defaults and copies what the caller could mutate later.
func resolve(o Options) (Options, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.TenantID, DefaultTenantID)
	def(&o.ClientID, DefaultClientID)
	def(&o.ClientSecret, DefaultClientSecret)
	def(&o.DCRID, DefaultDCRID)
	def(&o.Scope, DefaultScope)
	def(&o.FederatedIssuer, DefaultFederatedIssuer)
	def(&o.FederatedSubject, DefaultFederatedSubject)
	def(&o.FederatedAudience, DefaultFederatedAudience)
	def(&o.ManagedIdentityClientID, newGUID())
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Streams == nil {
		o.Streams = map[string][]Column{
			StreamKeeperLogs:        KeeperColumns(),
			StreamKeeperMarketplace: KeeperColumns(),
			StreamRaw:               nil,
			// The streams of schema asim, routed into the ASIM tables.
			StreamKeeperAsimAuthentication: ASIMTableColumns(TableASimAuthentication),
			StreamKeeperAsimUserManagement: ASIMTableColumns(TableASimUserManagement),
			StreamKeeperAsimAudit:          ASIMTableColumns(TableASimAudit),
		}
	} else {
		streams := make(map[string][]Column, len(o.Streams))
		for name, cols := range o.Streams {
			if cols != nil {
				cols = append([]Column{}, cols...)
			}
			for _, c := range cols {
				switch c.Type {
				case TypeString, TypeInt, TypeLong, TypeReal, TypeBoolean, TypeDatetime, TypeDynamic:
				default:
					return o, fmt.Errorf("stream %q: column %q has unknown type %q", name, c.Name, c.Type)
				}
			}
			streams[name] = cols
		}
		o.Streams = streams
	}
	o.ClientCertificates = append([]*x509.Certificate(nil), o.ClientCertificates...)
	return o, nil
}

// makeCA creates the server's CA and a leaf certificate for the loopback names.
func (s *Server) makeCA() (tls.Certificate, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "azmontest CA " + randomHex(4)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.pool = x509.NewCertPool()
	s.pool.AddCert(caCert)
	return tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}, nil
}

// Close shuts the emulator down and removes its temp dir (CAFile and token files).
// Requests delayed by a Fault are answered at once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.Close()
		s.msi.Close()
		os.RemoveAll(s.dir)
	})
}

// AuthorityHost returns the Entra authority host: URL + "/".
func (s *Server) AuthorityHost() string { return s.URL + "/" }

// DCEURL returns the data collection endpoint: URL.
func (s *Server) DCEURL() string { return s.URL }

// EndpointURL returns the full ingestion URL of a stream, as the Keeper Admin Console takes it:
// URL + "/dataCollectionRules/<DCRID>/streams/<stream>?api-version=2023-01-01".
func (s *Server) EndpointURL(stream string) string {
	return s.URL + "/dataCollectionRules/" + s.Opts.DCRID + "/streams/" + stream + "?api-version=" + APIVersion
}

// TokenEndpoint returns the URL of the tenant's token endpoint (the aud of client assertions).
func (s *Server) TokenEndpoint() string {
	return s.URL + "/" + s.Opts.TenantID + "/oauth2/v2.0/token"
}

// CAPEM returns the PEM of the emulator's CA (the content of CAFile).
func (s *Server) CAPEM() []byte { return append([]byte(nil), s.caPEM...) }

// CertPool returns a new pool holding the emulator's CA.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.caPEM)
	return p
}

// Client returns a new *http.Client that trusts the emulator's CA (and nothing else).
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
	tr.Proxy = nil
	return &http.Client{Transport: tr}
}

// ClientOptions returns the azcore.ClientOptions azidentity credentials need against the
// emulator: its authority host and a transport trusting its CA. Credentials must also set
// DisableInstanceDiscovery: true.
func (s *Server) ClientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost()},
		Transport: s.Client(),
	}
}

// Rows returns the rows accepted into a stream, in arrival order, after the DCR's column
// filtering: undeclared fields are gone, values that do not fit their column are nil, absent
// columns are absent. Numbers are json.Number; datetime values are kept as the strings sent.
// The result is a deep copy.
func (s *Server) Rows(stream string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.rows[stream]
	out := make([]map[string]any, len(src))
	for i, r := range src {
		out[i] = deepCopy(r).(map[string]any)
	}
	return out
}

// RowCount returns how many rows a stream holds.
func (s *Server) RowCount(stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows[stream])
}

// Requests returns the log of every ingestion request, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// TokenRequests returns how many token endpoint POSTs were served (successful or not).
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// ManagedIdentityRequests returns how many managed identity endpoint GETs were served
// (successful or not, over HTTPS or plain HTTP).
func (s *Server) ManagedIdentityRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msiRequests
}

// TypeMismatches returns how many values, over all accepted requests, did not fit their
// column's type and were stored as nil.
func (s *Server) TypeMismatches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mismatches
}

// Reset forgets the stored rows, the request log and the type mismatch count. Issued tokens,
// the token request counters, scripted faults, the fault mix and RejectRecords stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = map[string][]map[string]any{}
	s.requests = nil
	s.mismatches = 0
}

// RevokeTokens makes every token issued so far invalid: the ingestion endpoint answers 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// ExpireTokens makes every token issued so far expired: the ingestion endpoint answers 401
// with code TokenExpired. Tokens issued later are unaffected.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, t := range s.tokens {
		t.expires = past
	}
}

// RejectRecords makes a request containing any row (as sent, before column filtering)
// matching pred answer 400 and store nothing; nil turns it off.
func (s *Server) RejectRecords(pred func(row map[string]any) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = pred
}

// issueToken creates and remembers an opaque access token.
func (s *Server) issueToken() (string, time.Time) {
	tok := "azmontest." + randomHex(32)
	exp := time.Now().Add(s.Opts.TokenLifetime)
	s.mu.Lock()
	s.tokens[tok] = &token{expires: exp}
	s.mu.Unlock()
	return tok, exp
}

// serveHTTPS routes the requests of the main (TLS) listener.
func (s *Server) serveHTTPS(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 1 && strings.EqualFold(parts[0], "dataCollectionRules"):
		s.serveIngest(w, r, parts)
	case len(parts) == 2 && parts[0] == "msi" && parts[1] == "token":
		s.serveMSI(w, r)
	case len(parts) == 5 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration" && parts[4] == "":
		s.serveDiscovery(w, r, parts[0])
	case len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration":
		s.serveDiscovery(w, r, parts[0])
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token":
		s.serveToken(w, r, parts[0])
	case r.URL.Path == "/captive-portal/login":
		// Where a Foreign 3xx fault points: a page that answers 200 to
		// anything, as a captive portal does.
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>Sign in to continue</body></html>\n")
	default:
		http.NotFound(w, r)
	}
}

// serveMSIOnly is the plain-HTTP listener: the managed identity endpoint only.
func (s *Server) serveMSIOnly(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/msi/token" {
		s.serveMSI(w, r)
		return
	}
	http.NotFound(w, r)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return n
}

// newGUID returns a random (version 4) GUID.
func newGUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// deepCopy copies decoded JSON values.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = deepCopy(x)
		}
		return a
	default:
		return v
	}
}
