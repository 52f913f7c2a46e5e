package coldstart

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Principal is the staff member every API event carries: an owner of the
// demo portal, as the local stack's gateway puts the JWT authorizer's claims.
var Principal = map[string]string{"sub": "staff-coldstart", "portal_id": "demo", "role": "owner"}

// routes is the route each API function is invoked on: a read that touches
// the table where the function has one without path parameters.
var routes = map[string]string{
	"portal":    "GET /v1/portal",
	"companies": "GET /v1/companies",
	"projects":  "GET /v1/projects",
	"users":     "GET /v1/users",
	"crm":       "GET /v1/portal/crm", // not connected: a 404 from the handler
	"client":    "GET /v1/me",         // no client session: a 401 from the handler
	"pages":     "GET /portal/assets/style.css",
	"exports":   "GET /v1/exports",
}

// Event returns the event a function's first invocation gets: an API
// Gateway v2 request for an API function, an empty stream batch for a
// stream consumer, an EventBridge event for the scheduled and SES feedback
// functions.
func Event(function string, now time.Time) ([]byte, error) {
	if route, ok := routes[function]; ok {
		return json.Marshal(apiEvent(route, now))
	}
	var ev any
	switch function {
	case Hello, Floor:
		ev = map[string]string{}
	case "exportworker", "events":
		ev = events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{}}
	case "reminders":
		ev = eventBridge("aws.events", "Scheduled Event", now, json.RawMessage(`{}`))
	case "mailfeedback":
		// A delivery of an invitation to a user who is not there: read,
		// found missing, nothing recorded.
		ev = eventBridge("aws.ses", "Email Delivered", now, json.RawMessage(`{"eventType":"Delivery",`+
			`"mail":{"messageId":"coldstart","destination":["someone@example.com"],"tags":{"portal":["demo"],"user":["u-coldstart"]}},`+
			`"delivery":{"timestamp":"`+now.UTC().Format(time.RFC3339)+`","recipients":["someone@example.com"],"smtpResponse":"250 OK"}}`))
	default:
		return nil, fmt.Errorf("coldstart: no event for function %q: add one to infra/coldstart/events.go", function)
	}
	return json.Marshal(ev)
}

func apiEvent(route string, now time.Time) events.APIGatewayV2HTTPRequest {
	return apiRequest(route, "coldstart", now, Principal, nil, "")
}

// apiRequest is an API Gateway HTTP API v2 request on route, as the gateway
// passes it to a function: claims are the JWT authorizer's (nil for a
// route without the authorizer), headers are added to the gateway's own
// (lower case, as the gateway sends them), body is the request's body.
func apiRequest(route, requestID string, now time.Time, claims, headers map[string]string, body string) events.APIGatewayV2HTTPRequest {
	method, path, _ := strings.Cut(route, " ")
	h := map[string]string{"host": "127.0.0.1:3000", "accept": "application/json", "x-forwarded-proto": "http", "x-forwarded-for": "127.0.0.1"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	if body != "" {
		h["content-length"] = strconv.Itoa(len(body))
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path, Headers: h, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "000000000000", APIID: "local", DomainName: "127.0.0.1:3000", DomainPrefix: "local",
			RequestID: requestID, RouteKey: route, Stage: "$default",
			Time: now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "coldstart",
			},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return ev
}

func eventBridge(source, detailType string, now time.Time, detail json.RawMessage) events.EventBridgeEvent {
	return events.EventBridgeEvent{
		Version: "0", ID: "coldstart", DetailType: detailType, Source: source,
		AccountID: "000000000000", Time: now.UTC(), Region: Region,
		Resources: []string{}, Detail: detail,
	}
}
