package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/infra/local/stack"
)

// BenchmarkShareOutsideDynamoDB: of the time a function spends on a
// request (the router's latency_ms: decode, authorize, handler, store,
// encode), the share that is not DynamoDB's (ddb_ms: the SDK's attempts,
// round trip included), with DynamoDB Local behind, for three
// representative routes invoked as Lambda invokes the function (no HTTP in
// front). Goal: under 5 %. Run:
//
//	go test -run '^$' -bench ShareOutsideDynamoDB -benchtime 300x ./shared/api
func BenchmarkShareOutsideDynamoDB(b *testing.B) {
	var logs lockedBuffer
	st, err := stack.Start(context.Background(), stack.Options{Log: &logs})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	claims := map[string]string{"sub": "bench", "portal_id": stack.Portal, "role": "owner"}
	invoke := func(fn, route, path, body string, params map[string]string) events.APIGatewayV2HTTPResponse {
		ev := events.APIGatewayV2HTTPRequest{RouteKey: route, RawPath: path, Body: body, PathParameters: params,
			Headers: map[string]string{"content-type": "application/json"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "", RouteKey: route,
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}}}
		out, _ := st.Routers[fn].Invoke(context.Background(), ev)
		return out
	}
	company := invoke("CompaniesFunction", "POST /v1/companies", "/v1/companies", `{"name":"Bench seed"}`, nil)
	var seeded struct{ ID string }
	_ = json.Unmarshal([]byte(company.Body), &seeded)
	for _, r := range []struct {
		name, fn, route, path string
		params                map[string]string
		body                  func(i int) string
		ok                    int
	}{
		{"GET /v1/companies", "CompaniesFunction", "GET /v1/companies", "/v1/companies", nil, func(int) string { return "" }, 200},
		{"POST /v1/companies", "CompaniesFunction", "POST /v1/companies", "/v1/companies", nil, func(i int) string { return fmt.Sprintf(`{"name":"Bench %d"}`, i) }, 201},
		{"GET /v1/companies/{companyId}", "CompaniesFunction", "GET /v1/companies/{companyId}", "/v1/companies/" + seeded.ID,
			map[string]string{"companyId": seeded.ID}, func(int) string { return "" }, 200},
	} {
		b.Run(r.name, func(b *testing.B) {
			var latency, ddb float64
			for i := 0; b.Loop(); i++ {
				logs.Reset()
				ev := invoke(r.fn, r.route, r.path, r.body(i), r.params)
				if ev.StatusCode != r.ok {
					b.Fatalf("status %d: %s", ev.StatusCode, ev.Body)
				}
				l, d, ok := requestLine(logs.Bytes())
				if !ok {
					b.Fatalf("no request line in %s", logs.String())
				}
				latency, ddb = latency+l, ddb+d
			}
			b.ReportMetric(100*(latency-ddb)/latency, "%outside-ddb")
			b.ReportMetric(latency/float64(b.N), "latency-ms/op")
			b.ReportMetric(ddb/float64(b.N), "ddb-ms/op")
		})
	}
}

// requestLine is the latency_ms and ddb_ms of the router's request line.
func requestLine(logs []byte) (latency, ddb float64, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(logs))
	for sc.Scan() {
		var line struct {
			Msg     string  `json:"msg"`
			Latency float64 `json:"latency_ms"`
			DDB     float64 `json:"ddb_ms"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "request" {
			return line.Latency, line.DDB, true
		}
	}
	return 0, 0, false
}
