package azmon

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// APIVersion is the Logs Ingestion API version the client speaks.
const APIVersion = "2023-01-01"

// MaxBodyBytes is the service's limit on one request, compressed or not.
const MaxBodyBytes = 1 << 20

// MinRequestBytes is the smallest cap on one request's JSON: room for a
// few records.
const MinRequestBytes = 1024

// MaxConcurrencyLimit bounds MaxConcurrency.
const MaxConcurrencyLimit = 64

// DefaultMaxRequestBytes leaves headroom under MaxBodyBytes.
const DefaultMaxRequestBytes = 1_000_000

// DefaultMaxConcurrency is how many requests of one Send are in flight at once.
const DefaultMaxConcurrency = 4

// Secret is a credential value. It never prints: fmt and slog show a placeholder.
type Secret string

// String hides the secret.
func (Secret) String() string { return "[redacted]" }

// GoString hides the secret from %#v.
func (Secret) GoString() string { return `"[redacted]"` }

// LogValue hides the secret from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Cloud names an Azure cloud: where Entra ID lives and which scope the
// Logs Ingestion API accepts there.
type Cloud struct {
	Name          string // public, usgov or china
	AuthorityHost string // e.g. https://login.microsoftonline.com/
	Scope         string // e.g. https://monitor.azure.com/.default
	IngestSuffix  string // host suffix of its data collection endpoints
}

// LookupCloud returns the preset for a cloud name ("" means public).
func LookupCloud(name string) (Cloud, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "public", "azurepublic", "azurecloud":
		return Cloud{"public", "https://login.microsoftonline.com/", "https://monitor.azure.com/.default", ".monitor.azure.com"}, nil
	case "usgov", "azureusgovernment", "usgovernment":
		return Cloud{"usgov", "https://login.microsoftonline.us/", "https://monitor.azure.us/.default", ".monitor.azure.us"}, nil
	case "china", "azurechina", "azurechinacloud":
		return Cloud{"china", "https://login.chinacloudapi.cn/", "https://monitor.azure.cn/.default", ".monitor.azure.cn"}, nil
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q (want public, usgov or china)", name)
}

// Endpoint says where records go: a stream of a DCR behind a data
// collection endpoint.
type Endpoint struct {
	Base   string // scheme and host of the data collection endpoint, no trailing slash
	DCRID  string // the DCR's immutable id, dcr-...
	Stream string // e.g. Custom-KeeperLogs_CL
}

// URL is the full ingestion URL, the form the Keeper Admin Console takes.
func (e Endpoint) URL() string {
	return e.Base + "/dataCollectionRules/" + url.PathEscape(e.DCRID) +
		"/streams/" + url.PathEscape(e.Stream) + "?api-version=" + APIVersion
}

// ParseEndpointURL splits a full ingestion URL,
// https://<dce>/dataCollectionRules/<dcr>/streams/<stream>?api-version=...,
// into its parts.
func ParseEndpointURL(raw string) (Endpoint, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Endpoint{}, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return Endpoint{}, fmt.Errorf("%q is not an https URL", redactQuery(u))
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 4 || !strings.EqualFold(parts[0], "dataCollectionRules") || !strings.EqualFold(parts[2], "streams") || parts[1] == "" || parts[3] == "" {
		return Endpoint{}, fmt.Errorf("path %q is not /dataCollectionRules/<dcr-id>/streams/<stream>", u.Path)
	}
	if v := u.Query().Get("api-version"); v != "" && v != APIVersion {
		return Endpoint{}, fmt.Errorf("api-version %q is not supported (use %s)", v, APIVersion)
	}
	e := Endpoint{Base: u.Scheme + "://" + u.Host, DCRID: parts[1], Stream: parts[3]}
	return e, e.Validate()
}

// ParseDCEURL checks a data collection endpoint URL and returns its base.
func ParseDCEURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return "", fmt.Errorf("%q is not the https URL of a data collection endpoint", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Validate checks that every part is present and plausible.
func (e Endpoint) Validate() error {
	switch {
	case e.Base == "":
		return fmt.Errorf("no data collection endpoint")
	case !strings.HasPrefix(e.DCRID, "dcr-"):
		return fmt.Errorf("DCR id %q is not an immutable id (dcr-...)", e.DCRID)
	case !strings.HasPrefix(e.Stream, "Custom-") && !strings.HasPrefix(e.Stream, "Microsoft-"):
		return fmt.Errorf("stream %q must be Custom-<table> (or a Microsoft- stream)", e.Stream)
	}
	return nil
}

func redactQuery(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	c.User = nil
	return c.String()
}
