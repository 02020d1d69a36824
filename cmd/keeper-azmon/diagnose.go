package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// This file explains why a send failed, in the words of the seed's
// troubleshooting: which value is wrong and where to fix it.

// target is what the explanations name: the configured values that are
// not secret.
type target struct {
	Auth      azmon.AuthMode
	TenantID  string
	ClientID  string
	Authority string // Entra authority host, or a description for managed identity
	Scope     string
	Cloud     string
	Base      string // data collection endpoint, https://host
	DCRID     string
	Stream    string
	Timeout   time.Duration
	CAFile    string
	Proxy     bool
	GUIDLike  bool // client_secret has the shape of a Secret ID
	SampleLen int  // JSON bytes of the sample event
}

// newTarget gathers the values of cfg that explanations name.
func newTarget(cfg plugin.Config) target {
	c := cfg.Client.Credentials
	t := target{
		Auth:     c.Auth,
		TenantID: c.TenantID,
		ClientID: c.ClientID,
		Scope:    c.TokenScope(),
		Cloud:    c.Cloud.Name,
		Base:     cfg.Client.Endpoint.Base,
		DCRID:    cfg.Client.Endpoint.DCRID,
		Stream:   cfg.Client.Endpoint.Stream,
		Timeout:  cfg.Timeout,
		CAFile:   cfg.Client.CAFile,
		Proxy:    cfg.Client.Proxy != "",
		GUIDLike: isGUID(strings.TrimSpace(string(c.ClientSecret))),
	}
	t.Authority = c.Authority()
	switch c.Auth {
	case azmon.AuthManagedIdentity:
		t.Authority = "the managed identity endpoint (IMDS 169.254.169.254, or IDENTITY_ENDPOINT)"
	case azmon.AuthDefault:
		t.Authority += " (DefaultAzureCredential chain: environment, workload identity, managed identity, Azure CLI)"
	}
	return t
}

// isGUID reports whether s is a GUID: what a client secret's Secret ID (and
// a client or tenant id) looks like. A secret's Value is about 40
// characters with a ~.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// host is the host part of an https URL.
func host(u string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	return h
}

// diagnosis is what went wrong and what to do.
type diagnosis struct {
	Exit    int
	Stage   string   // token or ingestion
	Problem string   // one line
	Said    string   // what Entra ID / the service / the network said (no secrets)
	Advice  []string // what to do, most likely first
	Status  int      // HTTP status from the ingestion endpoint, 0 if none
	Code    string   // its error code, or the AADSTS code
}

// clip shortens s to n bytes for one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// diagnose explains err (from a Send) and the records dropped on purpose.
// The caller handles success (err nil, nothing dropped).
func diagnose(err error, drops []azmon.Drop, t target) diagnosis {
	if err == nil && len(drops) > 0 {
		return diagnoseDrop(drops[0], t)
	}
	var te *azmon.TokenError
	if errors.As(err, &te) {
		if te.Code() == "" {
			if kind := azmon.NetworkKind(err); kind != azmon.NetNone {
				return diagnoseNet(err, kind, "token", t.Authority, t)
			}
		}
		return diagnoseToken(te, t)
	}
	var se *azmon.StatusError
	if errors.As(err, &se) {
		return diagnoseStatus(se, t)
	}
	if errors.Is(err, context.Canceled) {
		return diagnosis{Exit: exitNetwork, Stage: "ingestion", Problem: "interrupted before an answer came", Said: err.Error()}
	}
	kind := azmon.NetworkKind(err)
	if kind == azmon.NetNone {
		kind = azmon.NetOther
	}
	return diagnoseNet(err, kind, "ingestion", t.Base, t)
}

// diagnoseToken explains a token refused by Entra ID (or an identity endpoint).
func diagnoseToken(te *azmon.TokenError, t target) diagnosis {
	d := diagnosis{Exit: exitToken, Stage: "token", Said: te.Description()}
	if d.Said == "" {
		d.Said = clip(te.Err.Error(), 400)
	}
	code := te.Code()
	d.Code = code
	app := fmt.Sprintf("the app registration (client_id %s)", t.ClientID)
	switch reason := azmon.EntraReasonOf(code); {
	case reason == azmon.EntraSecretInvalid:
		d.Problem = "Entra ID refused the client secret (AADSTS7000215)"
		d.Advice = []string{
			"client_secret must be the secret's Value, not its Secret ID. Both are listed under App registrations > your app > Certificates & secrets; the Value is shown only once, right after the secret is created (README, Azure setup step 2).",
			"If the Value is lost, create a new client secret there and copy its Value into the configuration (or the variable it comes from).",
			"Check that the secret belongs to " + app + ", not to another app.",
		}
		if t.GUIDLike {
			d.Advice = append([]string{"The configured client_secret has the shape of a GUID, which is what a Secret ID looks like: it is almost certainly the ID, not the Value."}, d.Advice...)
		}
	case reason == azmon.EntraSecretExpired:
		d.Problem = "the client secret has expired (AADSTS7000222)"
		d.Advice = []string{"Create a new client secret under App registrations > your app > Certificates & secrets and put its Value in client_secret."}
	case reason == azmon.EntraAppNotFound:
		d.Problem = fmt.Sprintf("Entra ID does not know client_id %s in tenant %s (AADSTS700016)", t.ClientID, t.TenantID)
		d.Advice = []string{
			"client_id must be the Application (client) ID from the app registration's Overview page (README, Azure setup step 1), not its Object ID nor the secret's ID.",
			"tenant_id must be the Directory (tenant) ID of the tenant where that app is registered: the app may live in another tenant.",
		}
	case reason == azmon.EntraTenantNotFound:
		d.Problem = fmt.Sprintf("Entra ID does not know tenant_id %s (%s)", t.TenantID, code)
		d.Advice = []string{
			"tenant_id must be the Directory (tenant) ID shown on the app registration's Overview page (a GUID), or the tenant's domain name.",
			fmt.Sprintf("Check cloud (now %s): a tenant of Azure Government or Azure China is not found by the public cloud's authority (set cloud usgov or china).", t.Cloud),
		}
	case reason == azmon.EntraResourceNotFound:
		d.Problem = fmt.Sprintf("Entra ID has no resource for the scope %s (%s)", t.Scope, code)
		d.Advice = []string{fmt.Sprintf("The scope must be the Azure Monitor scope of the endpoint's cloud (cloud is %s): leave scope unset and set cloud to public, usgov or china to match the endpoint host %s.", t.Cloud, host(t.Base))}
	case reason == azmon.EntraNoCredential:
		d.Problem = "Entra ID got no credential (AADSTS7000218)"
		d.Advice = []string{"Set client_secret (the secret's Value), client_secret_file, or auth client_certificate with client_certificate_path."}
	case reason == azmon.EntraAssertionRefused:
		d.Problem = fmt.Sprintf("Entra ID refused the client assertion (%s)", code)
		d.Advice = []string{
			"With auth client_certificate: the certificate in client_certificate_path must be the one uploaded to " + app + " (Certificates & secrets > Certificates), with its private key.",
			"With workload identity: the federated token file must hold a current token (it is rotated by the kubelet), and this host's clock must be right.",
		}
	case reason == azmon.EntraNoFederatedCredential:
		d.Problem = "no federated identity credential matches the workload identity token (AADSTS70021)"
		d.Advice = []string{"Add a federated credential to " + app + " whose issuer is the cluster's OIDC issuer URL and whose subject is system:serviceaccount:<namespace>:<service account> of Fluent Bit."}
	case code == "":
		d.Problem = fmt.Sprintf("could not get a token with auth %s", t.Auth)
		switch t.Auth {
		case azmon.AuthManagedIdentity:
			d.Advice = []string{
				"auth managed_identity needs an Azure host (VM, VM scale set, App Service, Container Apps, AKS) with a managed identity assigned; set managed_identity_client_id for a user-assigned one.",
				"Outside Azure use auth client_secret with tenant_id, client_id and client_secret (README, Azure setup steps 1-2).",
			}
		case azmon.AuthWorkloadIdentity:
			d.Advice = []string{"auth workload_identity needs the federated token file (AZURE_FEDERATED_TOKEN_FILE) that AKS mounts when the pod's service account is annotated azure.workload.identity/client-id and the pod labelled azure.workload.identity/use: \"true\"."}
		default:
			d.Advice = []string{"Read what the identity provider said above; run with -v for the plugin's log lines."}
		}
	default:
		d.Problem = fmt.Sprintf("Entra ID refused the token request (%s)", code)
		d.Advice = []string{fmt.Sprintf("Look the code up: https://login.microsoftonline.com/error?code=%s", strings.TrimPrefix(code, "AADSTS"))}
	}
	return d
}

// diagnoseStatus explains an error answer of the ingestion endpoint.
func diagnoseStatus(se *azmon.StatusError, t target) diagnosis {
	d := diagnosis{Exit: exitRefused, Stage: "ingestion", Status: se.Status, Code: se.Code}
	d.Said = strings.TrimSpace(fmt.Sprintf("%d %s: %s", se.Status, se.Code, se.Message))
	sc := strconv.Itoa(se.Status)
	if se.Code != "" {
		sc += " " + se.Code
	}
	h := host(t.Base)
	switch azmon.Explain(se).Cause {
	case azmon.CauseTokenRefused:
		d.Problem = fmt.Sprintf("the ingestion endpoint refused the token (%s)", sc)
		d.Advice = []string{
			fmt.Sprintf("The token is for the wrong cloud or scope: it came from %s for scope %s, but the endpoint %s must be in the same cloud (public: *.monitor.azure.com, usgov: *.monitor.azure.us, china: *.monitor.azure.cn). Set cloud to match and leave scope unset.", t.Authority, t.Scope, h),
			fmt.Sprintf("Or the token is for another tenant: tenant_id (%s) must be the tenant of the subscription that holds the DCR.", t.TenantID),
		}
		if strings.EqualFold(se.Code, "TokenExpired") {
			d.Advice = append([]string{"The token had expired when it arrived: check this host's clock (NTP)."}, d.Advice...)
		}
	case azmon.CauseRole:
		d.Problem = fmt.Sprintf("the app may not send to this DCR (%s)", sc)
		d.Advice = []string{
			fmt.Sprintf("Assign the role \"Monitoring Metrics Publisher\" on the Data Collection Rule %s to the app registration (client_id %s): DCR > Access control (IAM) > Add role assignment (README, Azure setup step 7).", t.DCRID, t.ClientID),
			"A new role assignment takes up to 30 minutes to propagate: if it was just made, wait and run check again (the plugin keeps retrying meanwhile).",
			"The role must be on this DCR (or its resource group or subscription) and for this app, not for another one with a similar name.",
		}
	case azmon.CauseNotFound:
		d.Problem = fmt.Sprintf("the endpoint %s does not know DCR %s (%s)", h, t.DCRID, sc)
		d.Advice = []string{
			"The DCR id must be the rule's Immutable Id (dcr-..., on the DCR's Overview / JSON View), not its name or resource id.",
			fmt.Sprintf("The host %s must be the Logs Ingestion URL of the Data Collection Endpoint the DCR uses (DCE > Overview, README, Azure setup step 5), in the DCR's region.", h),
		}
	case azmon.CauseStream:
		d.Problem = fmt.Sprintf("the DCR does not declare the stream %s (%s)", t.Stream, sc)
		d.Advice = []string{
			"The stream must be Custom-<table> exactly as the DCR declares it (streamDeclarations, used in its dataFlows); names are case-sensitive.",
			"Custom-KeeperLogs_CL for the seed's manual setup (table KeeperLogs_CL), Custom-KeeperSecurityEventNewLogs for the Marketplace solution; table_name X means stream Custom-X.",
		}
	case azmon.CauseAPIVersion:
		d.Problem = fmt.Sprintf("the endpoint refused the api-version (%s)", sc)
		d.Advice = []string{"endpoint_url must end in ?api-version=" + azmon.APIVersion + " (or be given as dce_url, dcr_id and stream_name); a proxy rewriting URLs can cause this too."}
	case azmon.CauseInvalidData, azmon.CauseRefused:
		d.Problem = fmt.Sprintf("the service refused the request (%s)", sc)
		d.Advice = []string{"Check the stream's declaration in the DCR against the record shape (deploy/azure/keeper-logs.json for the keeper schema)."}
	case azmon.CauseTooLarge:
		return diagnose413(d, t)
	case azmon.CauseThrottled:
		d.Problem = fmt.Sprintf("the service is throttling this DCR (%s)", sc)
		d.Advice = []string{"Something else is using up the DCR's limits (about 12,000 requests and 2 GB a minute): try again in a minute; the plugin honours Retry-After and retries."}
		if se.RetryAfter > 0 {
			d.Advice = append(d.Advice, "The service asked to wait "+se.RetryAfter.String()+".")
		}
	case azmon.CauseUnavailable:
		d.Problem = fmt.Sprintf("the service failed to take the request (%s)", sc)
		d.Advice = []string{fmt.Sprintf("This is usually transient: run check again in a few minutes (the plugin retries it). If it lasts, look at Azure status for the region of %s.", h)}
	default:
		d.Problem = fmt.Sprintf("the endpoint answered %s", sc)
		d.Advice = []string{"Read what the service said above; run with -v for the plugin's log lines."}
	}
	return d
}

// diagnose413 explains a request refused as too large.
func diagnose413(d diagnosis, t target) diagnosis {
	d.Exit, d.Stage, d.Status = exitRefused, "ingestion", 413
	d.Problem = fmt.Sprintf("the request was refused as too large (413), though the sample event is only %d bytes", t.SampleLen)
	d.Advice = []string{
		"Something between this host and Azure has a lower size limit than the service's 1 MiB: a proxy, gateway or firewall inspecting HTTPS. Raise its limit for " + host(t.Base) + ".",
		"The plugin splits requests on 413 and keeps max_request_bytes (at most 1048576) of JSON in one request.",
	}
	return d
}

// diagnoseDrop explains a record the client gave up on alone.
func diagnoseDrop(dr azmon.Drop, t target) diagnosis {
	d := diagnosis{Exit: exitRefused, Stage: "ingestion", Said: dr.Err.Error(), Status: 400}
	var se *azmon.StatusError
	if errors.As(dr.Err, &se) {
		if azmon.Explain(se).Cause == azmon.CauseTooLarge {
			return diagnose413(d, t)
		}
		d.Status, d.Code = se.Status, se.Code
	}
	d.Problem = "the service refused the sample event as invalid data"
	d.Advice = []string{
		"The stream's declaration must accept the record: for schema keeper, TimeGenerated datetime, audit_event, remote_address, category, client_version and username string, enterprise_id int, timestamp datetime, data dynamic (see deploy/azure/keeper-logs.json).",
		"With schema raw the stream must accept the records' fields as they are.",
	}
	var tl *azmon.TooLargeError
	if errors.As(dr.Err, &tl) {
		d.Problem = "the sample event is larger than max_request_bytes"
		d.Advice = []string{"Raise max_request_bytes (at most 1048576)."}
	}
	return d
}

// diagnoseNet explains a network failure talking to url during stage.
func diagnoseNet(err error, kind azmon.NetKind, stage, url string, t target) diagnosis {
	h := host(url)
	who := "the ingestion endpoint " + h
	if stage == "token" {
		who = "Entra ID at " + h
		if t.Auth == azmon.AuthManagedIdentity {
			who = t.Authority
		}
	}
	d := diagnosis{Exit: exitNetwork, Stage: stage, Said: clip(err.Error(), 400)}
	proxy := "Set proxy (or HTTPS_PROXY) if outbound HTTPS must go through a proxy."
	switch kind {
	case azmon.NetDNS:
		d.Problem = "cannot resolve " + h
		switch {
		case stage == "token" && t.Auth == azmon.AuthManagedIdentity:
			d.Problem = "cannot resolve the host of " + who
			d.Advice = []string{"Check IDENTITY_ENDPOINT (when set) and this host's DNS: managed identity works only on an Azure host with an identity assigned.", proxy}
		case stage == "token":
			d.Advice = []string{
				fmt.Sprintf("Check the Entra authority host %s: it comes from cloud (now %s; public, usgov or china) unless authority_host overrides it. Check that this host's DNS resolves it.", h, t.Cloud),
				proxy,
			}
		default:
			d.Advice = []string{"Check the endpoint host (the DCE's Logs Ingestion URL in endpoint_url or dce_url, README, Azure setup step 5) and this host's DNS; with Private Link, the privatelink.monitor.azure.com zone must resolve it.", proxy}
		}
	case azmon.NetRefused, azmon.NetUnreachable:
		d.Problem = "cannot connect to " + who
		d.Advice = []string{"A firewall blocks outbound HTTPS to " + h + " (port 443 unless the URL names another), or the host is wrong: allow it, or correct the URL.", proxy}
	case azmon.NetTimeout:
		d.Problem = fmt.Sprintf("no answer from %s within %s", who, t.Timeout)
		d.Advice = []string{"A firewall is dropping the traffic, or a proxy is required.", proxy, "On a slow link raise timeout."}
	case azmon.NetTLSUntrusted:
		d.Problem = "the TLS certificate of " + who + " is not trusted"
		d.Advice = []string{"A TLS-inspecting proxy or firewall re-signs HTTPS with its own CA: put that CA certificate (PEM) in ca_file.", "Or this host's CA bundle is missing or outdated (install ca-certificates)."}
		if t.CAFile != "" {
			d.Advice[0] = "ca_file (" + t.CAFile + ") does not hold the CA that signed this certificate: add the CA of the TLS-inspecting proxy (PEM)."
		}
	case azmon.NetTLSHostname:
		d.Problem = "the TLS certificate of " + who + " is for another name"
		d.Advice = []string{"The host name is wrong, or a proxy intercepts HTTPS: check the URL, and put the proxy's CA in ca_file if it re-signs traffic."}
	case azmon.NetTLS:
		d.Problem = "the TLS handshake with " + who + " failed"
		d.Advice = []string{"A proxy or firewall interferes with HTTPS, or ca_file is wrong.", proxy}
	case azmon.NetProxy:
		d.Problem = "the proxy failed to connect to " + who
		d.Advice = []string{"Check the proxy URL (proxy, HTTPS_PROXY) and that it allows " + h + "; NO_PROXY excludes hosts from it."}
	case azmon.NetReset:
		d.Problem = "the connection to " + who + " was cut"
		d.Advice = []string{"A proxy or firewall may be resetting HTTPS connections to " + h + ".", proxy}
	default:
		d.Problem = "cannot reach " + who
		d.Advice = []string{"Check DNS, firewall and proxy for outbound HTTPS to " + h + ", and ca_file for TLS-inspecting proxies.", proxy}
	}
	if t.Proxy && kind != azmon.NetProxy {
		d.Advice = append(d.Advice, "A proxy is configured (proxy): it may be the one failing.")
	}
	return d
}

// classifyError turns the error of a chunk the plugin gave up on into an
// exit code: no token, refused by the service, or the network.
func classifyError(err error) int {
	var te *azmon.TokenError
	var se *azmon.StatusError
	switch {
	case err == nil:
		return exitNetwork
	case errors.As(err, &te):
		if te.Code() == "" && azmon.NetworkKind(err) != azmon.NetNone {
			return exitNetwork
		}
		return exitToken
	case errors.As(err, &se):
		return exitRefused
	}
	return exitNetwork
}
