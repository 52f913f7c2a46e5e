package dynamodblocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy stands in front of a DynamoDB: it counts requests by operation,
// adds up the capacity they would consume on AWS (capacity.go) and applies
// the faults a test injects.
type Proxy struct {
	upstream http.Handler
	inject   atomic.Pointer[func(Request) *Fault]
	calls    atomic.Int64
	byOp     sync.Map // op -> *atomic.Int64
	meter    meter
	metering atomic.Bool  // Meter(true): capacity is added up (it costs reads)
	endpoint string       // upstream, for the meter's own requests
	client   *http.Client // to endpoint
}

// NewProxy returns a proxy to the DynamoDB at endpoint.
func NewProxy(endpoint string) (*Proxy, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("DynamoDB endpoint %q is not a URL", endpoint)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	p.Transport = transport
	// The answer is read whole before any of it is passed on: a connection
	// that breaks mid-body then becomes a 503 the SDK retries, as a dropped
	// connection to DynamoDB would, instead of a truncated 200.
	p.ModifyResponse = func(res *http.Response) error {
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		return nil
	}
	p.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		writeDynamo(w, http.StatusServiceUnavailable, map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", "message": "local proxy: " + err.Error()})
	}
	return &Proxy{upstream: p, endpoint: u.String(), client: &http.Client{Transport: transport, Timeout: 30 * time.Second}}, nil
}

// ServeHTTP counts r, applies the injected fault if any, and passes r on.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndexByte(op, '.')+1:]
	n, _ := p.byOp.LoadOrStore(op, new(atomic.Int64))
	count := n.(*atomic.Int64).Add(1)
	req := readRequest(r, op, count)
	if inject := p.inject.Load(); inject != nil {
		if f := (*inject)(req); f != nil && p.serveFault(w, r, req, *f) {
			return
		}
	}
	p.forward(w, r, op, req.Body)
}

// Meter turns the adding up of capacity on or off (off by default: it
// reads each written item before and after the write, which slows every
// test that does not look at capacity).
func (p *Proxy) Meter(on bool) { p.metering.Store(on) }

// Calls returns how many requests reached the proxy.
func (p *Proxy) Calls() int64 { return p.calls.Load() }

// CallsByOp returns the requests per operation.
func (p *Proxy) CallsByOp() map[string]int64 {
	out := map[string]int64{}
	p.byOp.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// What no emulator models is injected here, at the wire, between the SDK and
// DynamoDB Local: errors of a busy or failing service, transactions
// cancelled by a conflicting one, pages cut short and batches left half done.

// Request is a DynamoDB request on its way through the proxy, as a
// fault injector sees it.
type Request struct {
	Op    string // operation: "TransactWriteItems", "Query", ...
	Index string // IndexName of a Query or Scan
	Items int    // items of a TransactWriteItems or TransactGetItems
	N     int64  // how many requests of Op the stack has seen, this one included
	Body  []byte // the request's JSON
}

// Fault is what the proxy does to one request instead of passing it on as
// it is. The zero Fault passes it on.
type Fault struct {
	// Error answers this DynamoDB error type instead of passing the request
	// on: InternalServerError and ServiceUnavailable (5xx),
	// ThrottlingException, ProvisionedThroughputExceededException,
	// RequestLimitExceeded, TransactionInProgressException (400).
	Error string
	// Conflict cancels a TransactWriteItems without passing it on, as
	// DynamoDB does when another transaction holds one of its items: reason
	// TransactionConflict for item ConflictAt (the last when negative) and
	// None for the others.
	Conflict   bool
	ConflictAt int
	// Limit passes a Query or Scan on asking at most Limit items, so that
	// the page ends early with a LastEvaluatedKey, as the 1 MB cap does.
	Limit int
	// Unprocessed passes on only the first half (rounded up) of a
	// BatchWriteItem's writes and answers the rest as UnprocessedItems.
	Unprocessed bool
}

// Inject calls f with every DynamoDB request and applies the fault it
// returns (nil: none), until Inject(nil). f is called concurrently.
func (p *Proxy) Inject(f func(Request) *Fault) {
	if f == nil {
		p.inject.Store(nil)
		return
	}
	p.inject.Store(&f)
}

// Fail makes every request of an operation for which fail returns true
// answer 500 InternalServerError, until Fail(nil): by operation and order,
// to fail a multi-step operation midway.
func (p *Proxy) Fail(fail func(op string) bool) {
	if fail == nil {
		p.Inject(nil)
		return
	}
	p.Inject(func(r Request) *Fault {
		if fail(r.Op) {
			return &Fault{Error: "InternalServerError"}
		}
		return nil
	})
}

// errorStatus is the HTTP status DynamoDB answers each injectable error with.
var errorStatus = map[string]int{
	"InternalServerError":                    http.StatusInternalServerError,
	"ServiceUnavailable":                     http.StatusServiceUnavailable,
	"ThrottlingException":                    http.StatusBadRequest,
	"ProvisionedThroughputExceededException": http.StatusBadRequest,
	"RequestLimitExceeded":                   http.StatusBadRequest,
	"TransactionInProgressException":         http.StatusBadRequest,
}

// serveFault applies f to r; it reports false when r is to be passed on
// unchanged.
func (p *Proxy) serveFault(w http.ResponseWriter, r *http.Request, req Request, f Fault) bool {
	switch {
	case f.Error != "":
		status, ok := errorStatus[f.Error]
		if !ok {
			panic("dynamodblocal: no injectable DynamoDB error " + f.Error)
		}
		writeDynamo(w, status, map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + f.Error, "message": "injected fault"})
	case f.Conflict && req.Op == "TransactWriteItems":
		at := f.ConflictAt
		if at < 0 || at >= req.Items {
			at = req.Items - 1
		}
		reasons, codes := make([]map[string]string, req.Items), make([]string, req.Items)
		for i := range reasons {
			reasons[i], codes[i] = map[string]string{"Code": "None"}, "None"
			if i == at {
				reasons[i], codes[i] = map[string]string{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}, "TransactionConflict"
			}
		}
		writeDynamo(w, http.StatusBadRequest, map[string]any{
			"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
			"CancellationReasons": reasons,
			"Message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
		})
	case f.Limit > 0 && (req.Op == "Query" || req.Op == "Scan"):
		var in map[string]json.RawMessage
		if json.Unmarshal(req.Body, &in) != nil {
			return false
		}
		if old, err := strconv.Atoi(string(in["Limit"])); err == nil && old <= f.Limit {
			return false
		}
		in["Limit"] = json.RawMessage(strconv.Itoa(f.Limit))
		body, _ := json.Marshal(in)
		p.forward(w, r, req.Op, body)
	case f.Unprocessed && req.Op == "BatchWriteItem":
		var in struct {
			RequestItems map[string][]json.RawMessage
		}
		if json.Unmarshal(req.Body, &in) != nil {
			return false
		}
		sent, left := map[string][]json.RawMessage{}, map[string][]json.RawMessage{}
		for table, writes := range in.RequestItems {
			half := (len(writes) + 1) / 2
			sent[table] = writes[:half]
			if half < len(writes) {
				left[table] = writes[half:]
			}
		}
		body, _ := json.Marshal(map[string]any{"RequestItems": sent})
		rec := httptest.NewRecorder()
		p.forward(rec, r, req.Op, body)
		if rec.Code != http.StatusOK {
			copyResponse(w, rec)
			return true
		}
		writeDynamo(w, http.StatusOK, map[string]any{"UnprocessedItems": left})
	default:
		return false
	}
	return true
}

// forward passes r, a request of op, on with body instead of its own, and
// adds up the capacity it consumes (an answer the proxy makes up itself
// consumes none).
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	if !p.metering.Load() {
		p.upstream.ServeHTTP(w, r)
		return
	}
	m := p.measure(r, op, body)
	rec := &answerRecorder{ResponseWriter: w}
	p.upstream.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	m.finish(rec.status, rec.body.Bytes())
}

// answerRecorder passes an answer on, keeping a copy for the meter.
type answerRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (a *answerRecorder) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
	a.ResponseWriter.WriteHeader(status)
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	a.body.Write(b)
	return a.ResponseWriter.Write(b)
}

func (a *answerRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// writeDynamo answers as DynamoDB does, with the CRC32 of the body the SDK
// checks.
func writeDynamo(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		panic(fmt.Sprintf("stack: encode injected answer: %v", err))
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readRequest reads what an injector sees of r, leaving r's body intact.
func readRequest(r *http.Request, op string, n int64) Request {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	req := Request{Op: op, N: n, Body: body}
	var in struct {
		IndexName     string
		TransactItems []json.RawMessage
	}
	if json.Unmarshal(body, &in) == nil {
		req.Index, req.Items = in.IndexName, len(in.TransactItems)
	}
	return req
}
