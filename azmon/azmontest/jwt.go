package azmontest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "crypto/sha512" // SHA-384 and SHA-512 for RS384/PS512/ES384 and friends
)

// GenerateClientCertificate creates a self-signed certificate with a fresh RSA 2048 key, as
// one registers on an app registration for certificate authentication. It returns the
// certificate, its key, and a PEM holding both (CERTIFICATE then PKCS#8 PRIVATE KEY), the form
// azidentity.ParseCertificates reads. It panics on failure.
func GenerateClientCertificate(commonName string) (*x509.Certificate, *rsa.PrivateKey, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("azmontest: " + err.Error())
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("azmontest: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("azmontest: " + err.Error())
	}
	pk8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic("azmontest: " + err.Error())
	}
	var buf bytes.Buffer
	_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: pk8})
	return cert, key, buf.Bytes()
}

// SignClientAssertion signs claims into a client assertion JWT the way MSAL does: PS256 for an
// RSA key (ES256/ES384 for ECDSA P-256/P-384) with the certificate's x5t#S256 thumbprint in the
// header. Useful to test expired or misaddressed assertions.
func SignClientAssertion(cert *x509.Certificate, key crypto.Signer, claims map[string]any) (string, error) {
	sum := sha256.Sum256(cert.Raw)
	var alg string
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		alg = "PS256"
	case *ecdsa.PublicKey:
		alg = "ES" + fmt.Sprint(k.Curve.Params().BitSize)
	default:
		return "", fmt.Errorf("unsupported key type %T", k)
	}
	hdr := map[string]any{"alg": alg, "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(sum[:])}
	return signJWT(hdr, claims, key)
}

// SignJWT signs claims into a compact JWT with the emulator's own ES256 key (the kind of token
// a Kubernetes API server issues to a service account). The emulator does not verify the
// signatures of federated tokens, so this only gives them a realistic form.
func (s *Server) SignJWT(claims map[string]any) string {
	tok, err := signJWT(map[string]any{"alg": "ES256", "typ": "JWT", "kid": "azmontest"}, claims, s.jwtKey)
	if err != nil {
		panic("azmontest: " + err.Error())
	}
	return tok
}

// FederatedToken returns a service account token matching the federated identity credential
// (Opts.FederatedIssuer, FederatedSubject, FederatedAudience) that expires after ttl (a
// negative ttl gives an expired token).
func (s *Server) FederatedToken(ttl time.Duration) string {
	now := time.Now()
	return s.SignJWT(map[string]any{
		"iss": s.Opts.FederatedIssuer,
		"sub": s.Opts.FederatedSubject,
		"aud": []string{s.Opts.FederatedAudience},
		"iat": now.Unix(),
		"nbf": now.Add(-time.Minute).Unix(),
		"exp": now.Add(ttl).Unix(),
	})
}

// WriteTokenFile writes a token into a new file in the emulator's temp dir and returns its path,
// for AZURE_FEDERATED_TOKEN_FILE or WorkloadIdentityCredentialOptions.TokenFilePath.
func (s *Server) WriteTokenFile(token string) string {
	f, err := os.CreateTemp(s.dir, "token-*.jwt")
	if err != nil {
		panic("azmontest: " + err.Error())
	}
	defer f.Close()
	if _, err := f.WriteString(token); err != nil {
		panic("azmontest: " + err.Error())
	}
	return filepath.Clean(f.Name())
}

// signJWT builds header.payload.signature.
func signJWT(hdr, claims map[string]any, key crypto.Signer) (string, error) {
	h, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(h) + "." + b64(c)
	alg, _ := hdr["alg"].(string)
	hash, err := jwtHash(alg)
	if err != nil {
		return "", err
	}
	hh := hash.New()
	hh.Write([]byte(input))
	digest := hh.Sum(nil)
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if strings.HasPrefix(alg, "PS") {
			sig, err = rsa.SignPSS(rand.Reader, k, hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, hash, digest)
		}
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k, digest)
		if err == nil {
			size := (k.Curve.Params().BitSize + 7) / 8
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
		}
	default:
		err = fmt.Errorf("unsupported key type %T", key)
	}
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// unb64 decodes base64 in any of its spellings (URL or standard alphabet, padded or not).
func unb64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func jwtHash(alg string) (crypto.Hash, error) {
	if len(alg) == 5 {
		switch alg[2:] {
		case "256":
			return crypto.SHA256, nil
		case "384":
			return crypto.SHA384, nil
		case "512":
			return crypto.SHA512, nil
		}
	}
	return 0, fmt.Errorf("unsupported JWT alg %q", alg)
}

// jwt is a parsed compact JWT.
type jwt struct {
	header map[string]any
	claims map[string]any
	input  string // header.payload
	sig    []byte
}

func parseJWT(tok string) (*jwt, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("a JWT has three dot-separated parts")
	}
	j := &jwt{input: parts[0] + "." + parts[1]}
	for i, dst := range []*map[string]any{&j.header, &j.claims} {
		raw, err := unb64(parts[i])
		if err != nil {
			return nil, fmt.Errorf("JWT part %d is not base64url: %v", i+1, err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil || *dst == nil {
			return nil, fmt.Errorf("JWT part %d is not a JSON object", i+1)
		}
	}
	sig, err := unb64(parts[2])
	if err != nil {
		return nil, fmt.Errorf("JWT signature is not base64url: %v", err)
	}
	j.sig = sig
	return j, nil
}

// str returns a string claim or header field.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// audiences returns the aud claim as a list.
func (j *jwt) audiences() []string {
	switch a := j.claims["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// timeClaim returns a NumericDate claim, or the zero time.
func (j *jwt) timeClaim(k string) time.Time {
	n, ok := j.claims[k].(json.Number)
	if !ok {
		return time.Time{}
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(int64(f), 0)
}

// verify checks the signature with a certificate's public key.
func (j *jwt) verify(pub crypto.PublicKey) error {
	alg := str(j.header, "alg")
	hash, err := jwtHash(alg)
	if err != nil {
		return err
	}
	h := hash.New()
	h.Write([]byte(j.input))
	digest := h.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch alg[:2] {
		case "RS":
			return rsa.VerifyPKCS1v15(k, hash, digest, j.sig)
		case "PS":
			return rsa.VerifyPSS(k, hash, digest, j.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if alg[:2] != "ES" || len(j.sig) != 2*size {
			break
		}
		r := new(big.Int).SetBytes(j.sig[:size])
		s := new(big.Int).SetBytes(j.sig[size:])
		if ecdsa.Verify(k, digest, r, s) {
			return nil
		}
		return errors.New("ecdsa: verification error")
	}
	return fmt.Errorf("alg %q does not fit a %T key", alg, pub)
}

// findCert finds the registered certificate a client assertion names by x5t#S256, x5t or x5c.
func findCert(j *jwt, certs []*x509.Certificate) (*x509.Certificate, string) {
	thumbprints := []struct {
		header string
		sum    func(der []byte) []byte
	}{
		{"x5t#S256", func(der []byte) []byte { s := sha256.Sum256(der); return s[:] }},
		{"x5t", func(der []byte) []byte { s := sha1.Sum(der); return s[:] }},
	}
	for _, tp := range thumbprints {
		if t := str(j.header, tp.header); t != "" {
			want, _ := unb64(t)
			return certWhere(certs, func(c *x509.Certificate) bool { return bytes.Equal(tp.sum(c.Raw), want) }), t
		}
	}
	if chain, ok := j.header["x5c"].([]any); ok && len(chain) > 0 {
		s, _ := chain[0].(string)
		der, _ := base64.StdEncoding.DecodeString(s)
		return certWhere(certs, func(c *x509.Certificate) bool { return bytes.Equal(c.Raw, der) }), "x5c"
	}
	return nil, ""
}

// certWhere returns the first of certs that match accepts, or nil.
func certWhere(certs []*x509.Certificate, match func(*x509.Certificate) bool) *x509.Certificate {
	for _, c := range certs {
		if match(c) {
			return c
		}
	}
	return nil
}

// isCertAssertion reports whether a client assertion names a certificate (else it is taken as
// a federated token).
func (j *jwt) isCertAssertion() bool {
	_, x5c := j.header["x5c"]
	return str(j.header, "x5t#S256") != "" || str(j.header, "x5t") != "" || x5c
}
