package stack

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/infra/template"
)

// jobPattern is the export worker's filter, read from template.yaml.
func jobPattern(t *testing.T) string {
	t.Helper()
	esm := exportMapping(t)
	if len(esm.Filters) != 1 {
		t.Fatalf("filters %v, want one", esm.Filters)
	}
	return esm.Filters[0]
}

func streamRecord(event string, img map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: event, EventSource: "aws:dynamodb", AWSRegion: "ddblocal",
		Change: events.DynamoDBStreamRecord{NewImage: img, SequenceNumber: "1", StreamViewType: "NEW_IMAGE"}}
}

func TestFilterMatch(t *testing.T) {
	s, n := events.NewStringAttribute, events.NewNumberAttribute
	job := map[string]events.DynamoDBAttributeValue{"PK": s("P#demo#EXPORT#X"), "type": s("export_job"), "id": s("X")}
	user := map[string]events.DynamoDBAttributeValue{"PK": s("P#demo#U#1"), "type": s("user")}
	tests := []struct {
		name    string
		pattern string // "" for the template's
		record  events.DynamoDBEventRecord
		want    bool
	}{
		{"template: a job's INSERT", "", streamRecord("INSERT", job), true},
		{"template: a job's MODIFY", "", streamRecord("MODIFY", job), false},
		{"template: a job's REMOVE (no new image)", "", streamRecord("REMOVE", nil), false},
		{"template: another item's INSERT", "", streamRecord("INSERT", user), false},
		{"template: an INSERT without type", "", streamRecord("INSERT", map[string]events.DynamoDBAttributeValue{"PK": s("x")}), false},
		{"template: type as a number", "", streamRecord("INSERT", map[string]events.DynamoDBAttributeValue{"type": n("1")}), false},
		{"template: type a prefix of export_job", "", streamRecord("INSERT", map[string]events.DynamoDBAttributeValue{"type": s("export")}), false},
		{"template: type as a list holding export_job", "", streamRecord("INSERT", map[string]events.DynamoDBAttributeValue{"type": events.NewListAttribute([]events.DynamoDBAttributeValue{s("export_job")})}), false},

		{"values are ORed", `{"eventName":["MODIFY","INSERT"]}`, streamRecord("INSERT", nil), true},
		{"keys are ANDed", `{"eventName":["INSERT"],"eventSource":["aws:kinesis"]}`, streamRecord("INSERT", nil), false},
		{"a missing key fails", `{"userIdentity":{"type":["Service"]}}`, streamRecord("INSERT", nil), false},
		{"a number", `{"dynamodb":{"SizeBytes":[0]}}`, streamRecord("INSERT", nil), true},
		{"a number is not its string", `{"dynamodb":{"SizeBytes":["0"]}}`, streamRecord("INSERT", nil), false},
		{"a list in the record: one element", `{"dynamodb":{"NewImage":{"tags":{"SS":["b"]}}}}`, streamRecord("INSERT", map[string]events.DynamoDBAttributeValue{"tags": events.NewStringSetAttribute([]string{"a", "b"})}), true},
		{"an object is not a value", `{"dynamodb":[{"prefix":""}]}`, streamRecord("INSERT", nil), false},
		{"prefix", `{"dynamodb":{"NewImage":{"PK":{"S":[{"prefix":"P#demo#"}]}}}}`, streamRecord("INSERT", job), true},
		{"prefix, other", `{"dynamodb":{"NewImage":{"PK":{"S":[{"prefix":"P#other#"}]}}}}`, streamRecord("INSERT", job), false},
		{"suffix", `{"eventName":[{"suffix":"ERT"}]}`, streamRecord("INSERT", nil), true},
		{"equals-ignore-case", `{"eventName":[{"equals-ignore-case":"insert"}]}`, streamRecord("INSERT", nil), true},
		{"anything-but", `{"eventName":[{"anything-but":["MODIFY","REMOVE"]}]}`, streamRecord("INSERT", nil), true},
		{"anything-but, excluded", `{"eventName":[{"anything-but":"INSERT"}]}`, streamRecord("INSERT", nil), false},
		{"anything-but needs the key", `{"userIdentity":{"type":[{"anything-but":"Service"}]}}`, streamRecord("INSERT", nil), false},
		{"exists false", `{"dynamodb":{"OldImage":[{"exists":false}]}}`, streamRecord("INSERT", nil), true},
		{"exists false, present", `{"eventName":[{"exists":false}]}`, streamRecord("INSERT", nil), false},
		{"exists true", `{"dynamodb":{"NewImage":{"type":{"S":[{"exists":true}]}}}}`, streamRecord("INSERT", job), true},
		{"exists true, absent", `{"dynamodb":{"NewImage":{"owner":[{"exists":true}]}}}`, streamRecord("INSERT", job), false},
	}
	fromTemplate := jobPattern(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pattern := tt.pattern
			if pattern == "" {
				pattern = fromTemplate
			}
			f, err := compileFilter(pattern)
			if err != nil {
				t.Fatal(err)
			}
			got, err := matchRecord([]*filter{f}, tt.record)
			if err != nil || got != tt.want {
				t.Errorf("match %s = %v, %v; want %v", pattern, got, err, tt.want)
			}
		})
	}
}

func TestMatchRecordFilters(t *testing.T) {
	insert, modify := streamRecord("INSERT", nil), streamRecord("MODIFY", nil)
	a, _ := compileFilter(`{"eventName":["INSERT"]}`)
	b, _ := compileFilter(`{"eventName":["REMOVE"]}`)
	tests := []struct {
		name    string
		filters []*filter
		record  events.DynamoDBEventRecord
		want    bool
	}{
		{"no filter passes all", nil, modify, true},
		{"filters are ORed", []*filter{b, a}, insert, true},
		{"none matches", []*filter{a, b}, modify, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := matchRecord(tt.filters, tt.record); err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestCompileFilterErrors(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{`{"eventName":`, "unexpected EOF"},
		{`["INSERT"]`, "not a JSON object"},
		{`{"eventName":"INSERT"}`, "a leaf must be a list"},
		{`{"eventName":[]}`, "empty list"},
		{`{"dynamodb":{"SizeBytes":[{"numeric":[">",0]}]}}`, `dynamodb.SizeBytes: operator "numeric" is not supported`},
		{`{"$or":[{"eventName":["INSERT"]}]}`, "$or: not supported"},
		{`{"eventName":[{"prefix":1}]}`, "prefix needs a string"},
		{`{"eventName":[{"prefix":"a","suffix":"b"}]}`, "one key"},
		{`{"eventName":[{"exists":"yes"}]}`, "true or false"},
		{`{"eventName":[{"anything-but":{"prefix":"I"}}]}`, "anything-but with an operator"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			if _, err := compileFilter(tt.pattern); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// exportMapping is the export worker's event source mapping in template.yaml.
func exportMapping(t *testing.T) template.EventSourceMapping {
	t.Helper()
	path, err := template.FindFile()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	esm, err := tmpl.EventSourceMapping("ExportWorkerFunction")
	if err != nil {
		t.Fatal(err)
	}
	return esm
}
