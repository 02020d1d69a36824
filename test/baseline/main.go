// Command baseline is a benchmark baseline, not a product: a Fluent Bit Go
// output plugin for the Azure Monitor Logs Ingestion API written the way
// other Go output plugins are written (New Relic's, Grafana Loki's), with
// the usual tools:
//
//   - fluent-bit-go's output.NewDecoder and output.GetRecord, which yield
//     each record as map[interface{}]interface{} with strings as []byte;
//   - a recursive conversion into map[string]interface{}, TimeGenerated
//     from Fluent Bit's event time, and the fields outside the Keeper
//     table's columns folded into its dynamic column data (else the DCR
//     drops them);
//   - encoding/json.Marshal of each record, records joined into JSON arrays
//     of less than 1,000,000 bytes;
//   - compress/gzip at its default level, and one synchronous POST at a
//     time with a bearer token from azidentity's ClientSecretCredential.
//
// test/bench runs it next to out_keeper_azmon.so in the same C host, on the
// same chunks and against the same emulator, and reports keeper_azmon's
// numbers as ratios to this one. It is registered as baseline_azmon and
// reads tenant_id, client_id, client_secret, authority_host, endpoint_url
// and ca_file. Build it with
//
//	go build -buildmode=c-shared -o test/baseline/baseline.so ./test/baseline
package main

import "C"

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"
	"unsafe"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/fluent/fluent-bit-go/output"
)

const (
	// maxRequestBytes keeps each request under the service's 1 MiB limit.
	maxRequestBytes = 1_000_000
	scope           = "https://monitor.azure.com/.default"
	timeFormat      = "2006-01-02T15:04:05.000Z"
)

// instance is one [OUTPUT] section.
type instance struct {
	endpoint string
	cred     azcore.TokenCredential
	client   *http.Client
	log      *log.Logger
}

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	return output.FLBPluginRegister(def, "baseline_azmon", "Azure Monitor Logs Ingestion (benchmark baseline)")
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) int {
	get := func(key string) string { return output.FLBPluginConfigKey(plugin, key) }
	in, err := newInstance(get)
	if err != nil {
		log.Printf("[baseline_azmon] init: %v", err)
		return output.FLB_ERROR
	}
	output.FLBPluginSetContext(plugin, in)
	return output.FLB_OK
}

func newInstance(get func(string) string) (*instance, error) {
	for _, k := range []string{"tenant_id", "client_id", "client_secret", "endpoint_url"} {
		if get(k) == "" {
			return nil, fmt.Errorf("%s is required", k)
		}
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile := get("ca_file"); caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no certificate", caFile)
		}
		tlsConf.RootCAs = roots
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	opts := &azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: client}}
	if host := get("authority_host"); host != "" {
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: host}
		opts.DisableInstanceDiscovery = true
	}
	cred, err := azidentity.NewClientSecretCredential(get("tenant_id"), get("client_id"), get("client_secret"), opts)
	if err != nil {
		return nil, err
	}
	return &instance{
		endpoint: get("endpoint_url"),
		cred:     cred,
		client:   client,
		log:      log.New(os.Stderr, "[baseline_azmon] ", log.LstdFlags),
	}, nil
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) (rc int) {
	defer func() {
		if v := recover(); v != nil {
			log.Printf("[baseline_azmon] panic: %v", v)
			rc = output.FLB_RETRY
		}
	}()
	in, ok := output.FLBPluginGetContext(ctx).(*instance)
	if !ok || length <= 0 {
		return output.FLB_ERROR
	}
	return in.flush(data, int(length))
}

// flush converts the chunk and posts it in requests under maxRequestBytes.
func (in *instance) flush(data unsafe.Pointer, length int) int {
	dec := output.NewDecoder(data, length)
	var batch [][]byte
	size := 2 // "[" and "]"
	for {
		ret, ts, rec := output.GetRecord(dec)
		if ret != 0 {
			break
		}
		js, err := json.Marshal(toRow(ts, rec))
		if err != nil {
			in.log.Printf("record dropped: %v", err)
			continue
		}
		if len(batch) > 0 && size+1+len(js) > maxRequestBytes {
			if rc := in.post(batch); rc != output.FLB_OK {
				return rc
			}
			batch, size = batch[:0], 2
		}
		if len(batch) > 0 {
			size++ // ","
		}
		batch = append(batch, js)
		size += len(js)
	}
	if len(batch) == 0 {
		return output.FLB_OK
	}
	return in.post(batch)
}

// toRow is the record as the Keeper table takes it: the columns at top
// level, every other field inside data, and TimeGenerated.
func toRow(ts interface{}, rec map[interface{}]interface{}) map[string]interface{} {
	row := toStringMap(rec)
	data, _ := row["data"].(map[string]interface{})
	for k, v := range row {
		switch k {
		case "audit_event", "remote_address", "category", "client_version", "username", "enterprise_id", "timestamp", "data":
		default:
			if data == nil {
				data = make(map[string]interface{})
			}
			data[k] = v
			delete(row, k)
		}
	}
	if data != nil {
		row["data"] = data
	}
	t := time.Now()
	switch v := ts.(type) {
	case output.FLBTime:
		t = v.Time
	case uint64:
		t = time.Unix(int64(v), 0)
	}
	row["TimeGenerated"] = t.UTC().Format(timeFormat)
	return row
}

func toStringMap(m map[interface{}]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		var key string
		switch k := k.(type) {
		case string:
			key = k
		case []byte:
			key = string(k)
		default:
			key = fmt.Sprint(k)
		}
		out[key] = toValue(v)
	}
	return out
}

func toValue(v interface{}) interface{} {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case map[interface{}]interface{}:
		return toStringMap(v)
	case []interface{}:
		out := make([]interface{}, len(v))
		for i, e := range v {
			out[i] = toValue(e)
		}
		return out
	}
	return v
}

// post gzips the records as one JSON array and sends it.
func (in *instance) post(batch [][]byte) int {
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	zw.Write([]byte{'['})
	for i, js := range batch {
		if i > 0 {
			zw.Write([]byte{','})
		}
		zw.Write(js)
	}
	zw.Write([]byte{']'})
	if err := zw.Close(); err != nil {
		in.log.Printf("gzip: %v", err)
		return output.FLB_RETRY
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := in.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		in.log.Printf("token: %v", err)
		return output.FLB_RETRY
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, &body)
	if err != nil {
		in.log.Printf("request: %v", err)
		return output.FLB_ERROR
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := in.client.Do(req)
	if err != nil {
		in.log.Printf("post: %v", err)
		return output.FLB_RETRY
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode/100 == 2:
		return output.FLB_OK
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		in.log.Printf("post: %s %s", resp.Status, msg)
		return output.FLB_RETRY
	}
	in.log.Printf("post: %s %s; chunk dropped", resp.Status, msg)
	return output.FLB_ERROR
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) int {
	if in, ok := output.FLBPluginGetContext(ctx).(*instance); ok {
		in.client.CloseIdleConnections()
	}
	return output.FLB_OK
}

//export FLBPluginExit
func FLBPluginExit() int {
	return output.FLB_OK
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	output.FLBPluginUnregister(def)
}

func main() {}
