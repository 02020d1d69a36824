package azmontest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

// A client secret credential gets a token from the emulator, and the token posts one record.
func Example() {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()

	cred, err := azidentity.NewClientSecretCredential(s.Opts.TenantID, s.Opts.ClientID, s.Opts.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            s.ClientOptions(), // authority host + a transport trusting s.CAFile
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		panic(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{s.Opts.Scope}})
	if err != nil {
		panic(err)
	}

	body := []byte(`[{"TimeGenerated":"2025-01-12T00:03:44.743Z","audit_event":"role_created","enterprise_id":6557,"role_id":"dropped"}]`)
	req, _ := http.NewRequest(http.MethodPost, s.EndpointURL(azmontest.StreamKeeperMarketplace), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	fmt.Println(resp.StatusCode)
	fmt.Println(s.Rows(azmontest.StreamKeeperMarketplace))
	// Output:
	// 204
	// [map[TimeGenerated:2025-01-12T00:03:44.743Z audit_event:role_created enterprise_id:6557]]
}
