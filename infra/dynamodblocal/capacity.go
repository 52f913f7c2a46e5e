package dynamodblocal

// The capacity DynamoDB would charge for each request that passes the
// proxy while it meters (Proxy.Meter), computed by AWS's published rules from the sizes of the items read
// and written (Developer Guide: "DynamoDB item sizes and formats", "DynamoDB
// read and write operations", "Global secondary indexes: writes", "Capacity
// management for transactions"), not taken from DynamoDB Local's own
// ConsumedCapacity, which differs from AWS's (see capacity_test.go).
//
// A write's units depend on the item before it, which the request does not
// carry: the proxy reads it from upstream just before passing the write on
// (a consistent GetItem on the proxy's own connection, with the caller's
// credentials, not counted as a request and not subject to faults), and, for
// an UpdateItem, once more just after. Tracking items as they pass would
// need the proxy to evaluate every UpdateExpression and would miss items
// written before it started; reading them is simpler and exact whenever no
// other request writes the same item in between (TestRequestBudget sends one
// request at a time). Reads are measured from the answer, or, when the
// request projects or filters (capacity is charged for whole items before
// any projection or filter), by reading the whole items the same way. The
// table's keys and indexes come from DescribeTable, once per table. A
// DynamoDB that checks signatures (not DynamoDB Local) refuses these
// requests, replayed with the caller's signature: what they would have
// measured is then counted as Unmeasured.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// Units are capacity units: read units of 4 KB (a strongly consistent read;
// eventually consistent reads cost half, transactional ones double) and
// write units of 1 KB (transactional writes double). On-demand tables bill
// the same numbers as read and write request units.
type Units struct {
	Read, Write float64
}

// Capacity is the capacity consumed, by the table and by each global
// secondary index.
type Capacity struct {
	Table   Units
	Indexes map[string]Units // by IndexName
	// Unmeasured counts the requests whose capacity is missing because the
	// proxy could not read the items they change or the table's schema
	// (upstream refused its own requests: a real DynamoDB checks the
	// signature that DynamoDB Local ignores).
	Unmeasured int64
}

// Read returns the read units of the table and its indexes.
func (c Capacity) Read() float64 {
	r := c.Table.Read
	for _, u := range c.Indexes {
		r += u.Read
	}
	return r
}

// Write returns the write units of the table and its indexes.
func (c Capacity) Write() float64 {
	w := c.Table.Write
	for _, u := range c.Indexes {
		w += u.Write
	}
	return w
}

// Sub returns what c consumed since before.
func (c Capacity) Sub(before Capacity) Capacity {
	out := Capacity{Table: Units{c.Table.Read - before.Table.Read, c.Table.Write - before.Table.Write}, Indexes: map[string]Units{},
		Unmeasured: c.Unmeasured - before.Unmeasured}
	for name, u := range c.Indexes {
		b := before.Indexes[name]
		if d := (Units{u.Read - b.Read, u.Write - b.Write}); d != (Units{}) {
			out.Indexes[name] = d
		}
	}
	return out
}

// Capacity returns the capacity the requests that reached the proxy would
// have consumed on AWS.
func (p *Proxy) Capacity() Capacity {
	p.meter.mu.Lock()
	defer p.meter.mu.Unlock()
	c := Capacity{Indexes: map[string]Units{}, Unmeasured: p.meter.unmeasured}
	for name, h := range p.meter.halves {
		u := Units{float64(h[0]) / 2, float64(h[1]) / 2}
		if name == "" {
			c.Table = u
		} else {
			c.Indexes[name] = u
		}
	}
	return c
}

// item is a DynamoDB item as the JSON protocol carries it: attribute name
// to a one-member object naming the type ({"S": "x"}, {"N": "1"}, ...).
type item = map[string]any

// ItemSize returns an item's size by AWS's rules: the UTF-8 bytes of every
// attribute name plus the size of its value.
func ItemSize(it item) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

// valueSize is the size of one attribute value: a string its UTF-8 bytes, a
// number 1 byte per 2 significant digits + 1, a binary its raw bytes, a
// Boolean or null 1, a list or map 3 bytes plus its elements (a map's with
// their names) plus 1 byte per element, a set the sum of its members.
func valueSize(v any) int {
	typed, _ := v.(map[string]any)
	for typ, x := range typed {
		switch typ {
		case "S":
			s, _ := x.(string)
			return len(s)
		case "N":
			s, _ := x.(string)
			return numberSize(s)
		case "B":
			s, _ := x.(string)
			return binarySize(s)
		case "BOOL", "NULL":
			return 1
		case "SS", "NS", "BS":
			members, _ := x.([]any)
			n := 0
			for _, m := range members {
				s, _ := m.(string)
				switch typ {
				case "SS":
					n += len(s)
				case "NS":
					n += numberSize(s)
				default:
					n += binarySize(s)
				}
			}
			return n
		case "L":
			elems, _ := x.([]any)
			n := 3
			for _, e := range elems {
				n += valueSize(e) + 1
			}
			return n
		case "M":
			elems, _ := x.(map[string]any)
			n := 3
			for name, e := range elems {
				n += len(name) + valueSize(e) + 1
			}
			return n
		}
	}
	return 0
}

// numberSize is (significant digits + 1) / 2 + 1: leading and trailing
// zeros, the sign, the point and the exponent do not count.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.Replace(s, ".", "", 1)
	s = strings.TrimRight(strings.TrimLeft(s, "0"), "0")
	return (len(s)+1)/2 + 1
}

func binarySize(s string) int {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return len(s)
	}
	return len(b)
}

// Half units: every figure is a multiple of a half read unit.

// readHalves is what reading size bytes costs in half read units: 1 per
// 4 KB (rounded up, at least 1) eventually consistent, 2 strongly
// consistent, 4 transactional.
func readHalves(size int, consistent, transactional bool) int64 {
	n := int64(max(1, (size+4095)/4096))
	switch {
	case transactional:
		return 4 * n
	case consistent:
		return 2 * n
	}
	return n
}

// writeHalves is what writing size bytes costs in half write units: 1 write
// unit per 1 KB (rounded up, at least 1), 2 transactional.
func writeHalves(size int, transactional bool) int64 {
	n := int64(max(1, (size+1023)/1024))
	if transactional {
		return 4 * n
	}
	return 2 * n
}

// A table's key schema and global secondary indexes, from DescribeTable.
type schema struct {
	hash, rng string
	indexes   []index
}

type index struct {
	name, hash, rng string
	projection      string   // ALL, KEYS_ONLY or INCLUDE
	include         []string // the NonKeyAttributes of INCLUDE
}

// key returns it's primary key.
func (s *schema) key(it item) item {
	k := item{s.hash: it[s.hash]}
	if s.rng != "" {
		k[s.rng] = it[s.rng]
	}
	return k
}

// project returns the entry of it in x, nil when it lacks x's keys.
func (s *schema) project(x index, it item) item {
	if it == nil || it[x.hash] == nil || (x.rng != "" && it[x.rng] == nil) {
		return nil
	}
	if x.projection == "ALL" {
		return it
	}
	out := item{}
	for _, name := range append([]string{s.hash, s.rng, x.hash, x.rng}, x.include...) {
		if v, ok := it[name]; ok && name != "" {
			out[name] = v
		}
	}
	return out
}

// indexWriteHalves is what changing an item from before to after (either nil
// when absent) costs index x in half write units: a new entry one write of
// its size, a removed one one write of the old size, a changed key a delete
// and a put, a changed entry under the same key one write of the larger
// size, an unchanged entry nothing. Index writes are not transactional: a
// transaction's changes propagate to its indexes after it.
func (s *schema) indexWriteHalves(x index, before, after item) int64 {
	b, a := s.project(x, before), s.project(x, after)
	switch {
	case b == nil && a == nil:
		return 0
	case b == nil:
		return writeHalves(ItemSize(a), false)
	case a == nil:
		return writeHalves(ItemSize(b), false)
	case !reflect.DeepEqual(b[x.hash], a[x.hash]) || (x.rng != "" && !reflect.DeepEqual(b[x.rng], a[x.rng])):
		return writeHalves(ItemSize(b), false) + writeHalves(ItemSize(a), false)
	case reflect.DeepEqual(a, b):
		return 0
	}
	return writeHalves(max(ItemSize(b), ItemSize(a)), false)
}

// meter adds up the capacity of the requests through a proxy.
type meter struct {
	mu         sync.Mutex
	halves     map[string]*[2]int64 // "" (the table) or IndexName -> read, write
	schemas    map[string]*schema   // by TableName
	unmeasured int64
}

func (m *meter) add(name string, read, write int64) {
	if read == 0 && write == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.halves == nil {
		m.halves = map[string]*[2]int64{}
	}
	h := m.halves[name]
	if h == nil {
		h = new([2]int64)
		m.halves[name] = h
	}
	h[0] += read
	h[1] += write
}

// side sends the proxy's own requests upstream, with the credentials of the
// request being measured (DynamoDB Local keeps a database per access key).
type side struct {
	p      *Proxy
	header http.Header
	failed *bool // set when upstream did not answer
}

func (s side) call(op string, in any, out any) (ok bool) {
	defer func() {
		if !ok {
			*s.failed = true
		}
	}()
	body, err := json.Marshal(in)
	if err != nil {
		return false
	}
	req, err := http.NewRequest(http.MethodPost, s.p.endpoint, bytes.NewReader(body))
	if err != nil {
		return false
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := s.header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	res, err := s.p.client.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return false
	}
	return json.Unmarshal(b, out) == nil
}

// get reads an item whole, consistently; nil when absent or unreadable.
func (s side) get(table string, key item) item {
	var out struct{ Item item }
	if !s.call("GetItem", map[string]any{"TableName": table, "Key": key, "ConsistentRead": true}, &out) {
		return nil
	}
	return out.Item
}

// schema returns table's key schema, asking upstream once.
func (s side) schema(table string) *schema {
	m := &s.p.meter
	m.mu.Lock()
	sc := m.schemas[table]
	m.mu.Unlock()
	if sc != nil {
		return sc
	}
	type keyElem struct{ AttributeName, KeyType string }
	keys := func(ks []keyElem) (hash, rng string) {
		for _, k := range ks {
			if k.KeyType == "HASH" {
				hash = k.AttributeName
			} else {
				rng = k.AttributeName
			}
		}
		return hash, rng
	}
	var out struct {
		Table struct {
			KeySchema              []keyElem
			GlobalSecondaryIndexes []struct {
				IndexName  string
				KeySchema  []keyElem
				Projection struct {
					ProjectionType   string
					NonKeyAttributes []string
				}
			}
		}
	}
	if !s.call("DescribeTable", map[string]any{"TableName": table}, &out) {
		return nil
	}
	sc = &schema{}
	sc.hash, sc.rng = keys(out.Table.KeySchema)
	for _, g := range out.Table.GlobalSecondaryIndexes {
		x := index{name: g.IndexName, projection: g.Projection.ProjectionType, include: g.Projection.NonKeyAttributes}
		x.hash, x.rng = keys(g.KeySchema)
		sc.indexes = append(sc.indexes, x)
	}
	sort.Slice(sc.indexes, func(i, j int) bool { return sc.indexes[i].name < sc.indexes[j].name })
	m.mu.Lock()
	if m.schemas == nil {
		m.schemas = map[string]*schema{}
	}
	m.schemas[table] = sc
	m.mu.Unlock()
	return sc
}

// A write of one item, as a measured request makes it.
type write struct {
	table         string
	sc            *schema
	key           item
	put           item // a Put's item; nil for Update, Delete, ConditionCheck
	check         bool // a ConditionCheck: charged, writes nothing
	del           bool
	transactional bool
	before        item
}

// measurement is one request being measured: made before it passes on
// (which reads the items its writes change), finished with its answer.
type measurement struct {
	side
	op     string
	body   []byte
	writes []*write
	failed bool
}

// writeSpec is the part of a Put, Update, Delete or ConditionCheck (alone or
// in a transaction) that the meter reads.
type writeSpec struct {
	TableName string
	Item      item
	Key       item
}

// measure starts measuring a request of op with body.
func (p *Proxy) measure(r *http.Request, op string, body []byte) *measurement {
	m := &measurement{op: op, body: body}
	m.side = side{p: p, header: r.Header.Clone(), failed: &m.failed}
	add := func(spec writeSpec, put, del, check, tx bool) {
		sc := m.schema(spec.TableName)
		if sc == nil {
			return
		}
		w := &write{table: spec.TableName, sc: sc, key: spec.Key, check: check, del: del, transactional: tx}
		if put {
			w.put, w.key = spec.Item, sc.key(spec.Item)
		}
		w.before = m.get(w.table, w.key)
		m.writes = append(m.writes, w)
	}
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		var spec writeSpec
		if json.Unmarshal(body, &spec) == nil {
			add(spec, op == "PutItem", op == "DeleteItem", false, false)
		}
	case "TransactWriteItems":
		var in struct {
			TransactItems []struct{ Put, Update, Delete, ConditionCheck *writeSpec }
		}
		if json.Unmarshal(body, &in) == nil {
			for _, t := range in.TransactItems {
				switch {
				case t.Put != nil:
					add(*t.Put, true, false, false, true)
				case t.Update != nil:
					add(*t.Update, false, false, false, true)
				case t.Delete != nil:
					add(*t.Delete, false, true, false, true)
				case t.ConditionCheck != nil:
					add(*t.ConditionCheck, false, false, true, true)
				}
			}
		}
	case "BatchWriteItem":
		var in struct {
			RequestItems map[string][]struct {
				PutRequest    *struct{ Item item }
				DeleteRequest *struct{ Key item }
			}
		}
		if json.Unmarshal(body, &in) == nil {
			for table, ws := range in.RequestItems {
				for _, w := range ws {
					switch {
					case w.PutRequest != nil:
						add(writeSpec{TableName: table, Item: w.PutRequest.Item}, true, false, false, false)
					case w.DeleteRequest != nil:
						add(writeSpec{TableName: table, Key: w.DeleteRequest.Key}, false, true, false, false)
					}
				}
			}
		}
	}
	return m
}

// keyString identifies a key.
func keyString(table string, k item) string {
	b, _ := json.Marshal(k) // map keys sorted
	return table + "\x00" + string(b)
}

// finish adds the request's capacity, given its answer.
func (m *measurement) finish(status int, answer []byte) {
	defer func() {
		if m.failed {
			m.p.meter.mu.Lock()
			m.p.meter.unmeasured++
			m.p.meter.mu.Unlock()
		}
	}()
	var errType struct {
		Type string `json:"__type"`
	}
	if status != http.StatusOK {
		_ = json.Unmarshal(answer, &errType)
		t := errType.Type[strings.LastIndexByte(errType.Type, '#')+1:]
		// A failed condition still consumes capacity: the write's units of
		// the item as it is. Other errors consume nothing.
		if t != "ConditionalCheckFailedException" && t != "TransactionCanceledException" {
			return
		}
		for _, w := range m.writes {
			m.charge(w, w.before)
		}
		return
	}
	switch m.op {
	case "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems":
		for _, w := range m.writes {
			m.charge(w, m.after(w))
		}
	case "BatchWriteItem":
		var out struct {
			UnprocessedItems map[string][]struct {
				PutRequest    *struct{ Item item }
				DeleteRequest *struct{ Key item }
			}
		}
		_ = json.Unmarshal(answer, &out)
		left := map[string]bool{}
		for table, ws := range out.UnprocessedItems {
			sc := m.schema(table)
			for _, w := range ws {
				switch {
				case w.PutRequest != nil && sc != nil:
					left[keyString(table, sc.key(w.PutRequest.Item))] = true
				case w.DeleteRequest != nil:
					left[keyString(table, w.DeleteRequest.Key)] = true
				}
			}
		}
		for _, w := range m.writes {
			if !left[keyString(w.table, w.key)] {
				m.charge(w, m.after(w))
			}
		}
	case "GetItem":
		m.getItem(answer)
	case "BatchGetItem":
		m.batchGetItem(answer)
	case "TransactGetItems":
		m.transactGetItems(answer)
	case "Query", "Scan":
		m.query(answer)
	}
}

// after is the item a successful write left.
func (m *measurement) after(w *write) item {
	switch {
	case w.check:
		return w.before
	case w.del:
		return nil
	case w.put != nil:
		return w.put
	}
	return m.get(w.table, w.key)
}

// charge adds a write's units: the table's of the larger of the item before
// and after, each index's of its entry's change (a ConditionCheck changes
// nothing).
func (m *measurement) charge(w *write, after item) {
	size := ItemSize(w.before)
	if after != nil {
		size = max(size, ItemSize(after))
	}
	m.p.meter.add("", 0, writeHalves(size, w.transactional))
	if w.check {
		return
	}
	for _, x := range w.sc.indexes {
		m.p.meter.add(x.name, 0, w.sc.indexWriteHalves(x, w.before, after))
	}
}

// readSpec is the part of a read that the meter reads.
type readSpec struct {
	TableName            string
	IndexName            string
	Key                  item
	ConsistentRead       bool
	ProjectionExpression string
	AttributesToGet      []string
}

func (r readSpec) projects() bool { return r.ProjectionExpression != "" || len(r.AttributesToGet) > 0 }

func (m *measurement) getItem(answer []byte) {
	var in readSpec
	var out struct{ Item item }
	if json.Unmarshal(m.body, &in) != nil || json.Unmarshal(answer, &out) != nil {
		return
	}
	it := out.Item
	if in.projects() && it != nil {
		it = m.get(in.TableName, in.Key)
	}
	m.p.meter.add("", readHalves(ItemSize(it), in.ConsistentRead, false), 0)
}

func (m *measurement) transactGetItems(answer []byte) {
	var in struct{ TransactItems []struct{ Get readSpec } }
	var out struct{ Responses []struct{ Item item } }
	if json.Unmarshal(m.body, &in) != nil || json.Unmarshal(answer, &out) != nil {
		return
	}
	for i, t := range in.TransactItems {
		var it item
		if i < len(out.Responses) {
			it = out.Responses[i].Item
		}
		if t.Get.projects() && it != nil {
			it = m.get(t.Get.TableName, t.Get.Key)
		}
		m.p.meter.add("", readHalves(ItemSize(it), true, true), 0)
	}
}

// batchGetItem charges each key read as a GetItem of its own (an absent
// item the minimum), the unprocessed ones nothing.
func (m *measurement) batchGetItem(answer []byte) {
	type keys struct {
		Keys                 []item
		ConsistentRead       bool
		ProjectionExpression string
		AttributesToGet      []string
	}
	var in struct{ RequestItems map[string]keys }
	var out struct {
		Responses       map[string][]item
		UnprocessedKeys map[string]keys
	}
	if json.Unmarshal(m.body, &in) != nil || json.Unmarshal(answer, &out) != nil {
		return
	}
	for table, ka := range in.RequestItems {
		sc := m.schema(table)
		if sc == nil {
			continue
		}
		found := map[string]item{}
		for _, it := range out.Responses[table] {
			found[keyString(table, sc.key(it))] = it
		}
		left := map[string]bool{}
		for _, k := range out.UnprocessedKeys[table].Keys {
			left[keyString(table, k)] = true
		}
		projects := readSpec{ProjectionExpression: ka.ProjectionExpression, AttributesToGet: ka.AttributesToGet}.projects()
		for _, k := range ka.Keys {
			ks := keyString(table, k)
			if left[ks] {
				continue
			}
			it := found[ks]
			if projects && it != nil {
				it = m.get(table, k)
			}
			m.p.meter.add("", readHalves(ItemSize(it), ka.ConsistentRead, false), 0)
		}
	}
}

// query charges a page of a Query or Scan: the sizes of the items it read,
// summed and rounded up once (at least one unit; from an index, an index
// read). A projection, a filter or Select=COUNT does not lower it: the
// items read are then those of the same page asked without them.
func (m *measurement) query(answer []byte) {
	var in map[string]any
	var out struct{ Items []item }
	if json.Unmarshal(m.body, &in) != nil || json.Unmarshal(answer, &out) != nil {
		return
	}
	items := out.Items
	reduced := false
	for _, k := range []string{"ProjectionExpression", "AttributesToGet", "FilterExpression", "QueryFilter", "ScanFilter", "Select"} {
		if _, ok := in[k]; ok {
			reduced = true
			delete(in, k)
		}
	}
	if reduced {
		pruneExpressionAttributes(in)
		delete(in, "ReturnConsumedCapacity")
		var whole struct{ Items []item }
		if !m.call(m.op, in, &whole) {
			return
		}
		items = whole.Items
	}
	size := 0
	for _, it := range items {
		size += ItemSize(it)
	}
	consistent, _ := in["ConsistentRead"].(bool)
	name, _ := in["IndexName"].(string)
	m.p.meter.add(name, readHalves(size, consistent, false), 0)
}

// pruneExpressionAttributes drops the names and values no remaining
// expression uses: DynamoDB rejects unused ones.
func pruneExpressionAttributes(in map[string]any) {
	var used strings.Builder
	for _, k := range []string{"KeyConditionExpression", "FilterExpression", "ProjectionExpression"} {
		if s, ok := in[k].(string); ok {
			used.WriteString(s + " ")
		}
	}
	text := used.String()
	uses := func(token string) bool {
		for i := 0; ; {
			j := strings.Index(text[i:], token)
			if j < 0 {
				return false
			}
			end := i + j + len(token)
			if end == len(text) || !isNameByte(text[end]) {
				return true
			}
			i = end
		}
	}
	for _, k := range []string{"ExpressionAttributeNames", "ExpressionAttributeValues"} {
		vals, _ := in[k].(map[string]any)
		for token := range vals {
			if !uses(token) {
				delete(vals, token)
			}
		}
		if vals != nil && len(vals) == 0 {
			delete(in, k)
		}
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
