package template

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	cfndynamodb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/policies"
)

// wantRoutes is every route template.yaml must declare, no more, no less. Add
// a route here when adding it to the template. Public marks the routes API
// Gateway's staff JWT authorizer does not guard (Auth.Authorizer NONE): only
// the client portal's, which are public or checked by the handler against a
// client session token.
var wantRoutes = []Route{
	{Method: "GET", Path: "/v1/portal", Function: "PortalFunction"},
	{Method: "PATCH", Path: "/v1/portal", Function: "PortalFunction"},
	{Method: "GET", Path: "/v1/invitation-templates", Function: "PortalFunction"},
	{Method: "POST", Path: "/v1/invitation-templates", Function: "PortalFunction"},
	{Method: "GET", Path: "/v1/invitation-templates/{templateId}", Function: "PortalFunction"},
	{Method: "PATCH", Path: "/v1/invitation-templates/{templateId}", Function: "PortalFunction"},
	{Method: "DELETE", Path: "/v1/invitation-templates/{templateId}", Function: "PortalFunction"},

	{Method: "POST", Path: "/v1/companies", Function: "CompaniesFunction"},
	{Method: "GET", Path: "/v1/companies", Function: "CompaniesFunction"},
	{Method: "GET", Path: "/v1/companies/{companyId}", Function: "CompaniesFunction"},
	{Method: "PATCH", Path: "/v1/companies/{companyId}", Function: "CompaniesFunction"},
	{Method: "DELETE", Path: "/v1/companies/{companyId}", Function: "CompaniesFunction"},
	{Method: "GET", Path: "/v1/companies/{companyId}/history", Function: "CompaniesFunction"},
	{Method: "GET", Path: "/v1/companies/{companyId}/users", Function: "CompaniesFunction"},
	{Method: "GET", Path: "/v1/companies/{companyId}/group", Function: "CompaniesFunction"},
	{Method: "POST", Path: "/v1/companies/{companyId}/signup-link", Function: "CompaniesFunction"},
	{Method: "GET", Path: "/v1/companies/{companyId}/signup-link", Function: "CompaniesFunction"},
	{Method: "DELETE", Path: "/v1/companies/{companyId}/signup-link", Function: "CompaniesFunction"},

	{Method: "POST", Path: "/v1/projects", Function: "ProjectsFunction"},
	{Method: "GET", Path: "/v1/projects", Function: "ProjectsFunction"},
	{Method: "GET", Path: "/v1/projects/{projectId}", Function: "ProjectsFunction"},
	{Method: "PATCH", Path: "/v1/projects/{projectId}", Function: "ProjectsFunction"},
	{Method: "DELETE", Path: "/v1/projects/{projectId}", Function: "ProjectsFunction"},
	{Method: "POST", Path: "/v1/projects/{projectId}/companies", Function: "ProjectsFunction"},
	{Method: "PUT", Path: "/v1/projects/{projectId}/primary-company", Function: "ProjectsFunction"},
	{Method: "DELETE", Path: "/v1/projects/{projectId}/companies/{companyId}", Function: "ProjectsFunction"},
	{Method: "GET", Path: "/v1/projects/{projectId}/users", Function: "ProjectsFunction"},
	{Method: "POST", Path: "/v1/projects/{projectId}/users", Function: "ProjectsFunction"},
	{Method: "PATCH", Path: "/v1/projects/{projectId}/users/{userId}", Function: "ProjectsFunction"},
	{Method: "DELETE", Path: "/v1/projects/{projectId}/users/{userId}", Function: "ProjectsFunction"},

	{Method: "POST", Path: "/v1/users", Function: "UsersFunction"},
	{Method: "GET", Path: "/v1/users", Function: "UsersFunction"},
	{Method: "GET", Path: "/v1/users/{userId}", Function: "UsersFunction"},
	{Method: "GET", Path: "/v1/users/{userId}/history", Function: "UsersFunction"},
	{Method: "PATCH", Path: "/v1/users/{userId}", Function: "UsersFunction"},
	{Method: "DELETE", Path: "/v1/users/{userId}", Function: "UsersFunction"},
	{Method: "POST", Path: "/v1/users/{userId}/deactivate", Function: "UsersFunction"},
	{Method: "POST", Path: "/v1/users/{userId}/activate", Function: "UsersFunction"},
	{Method: "POST", Path: "/v1/users/{userId}/reinvite", Function: "UsersFunction"},
	{Method: "POST", Path: "/v1/users/reinvite", Function: "UsersFunction"},
	{Method: "GET", Path: "/v1/profiles", Function: "UsersFunction"},
	{Method: "POST", Path: "/v1/profiles", Function: "UsersFunction"},
	{Method: "GET", Path: "/v1/profiles/{profileId}", Function: "UsersFunction"},
	{Method: "PATCH", Path: "/v1/profiles/{profileId}", Function: "UsersFunction"},
	{Method: "DELETE", Path: "/v1/profiles/{profileId}", Function: "UsersFunction"},
	{Method: "GET", Path: "/v1/projects/{projectId}/users/{userId}/permissions", Function: "ProjectsFunction"},
	{Method: "PUT", Path: "/v1/projects/{projectId}/users/{userId}/permissions", Function: "ProjectsFunction"},
	{Method: "DELETE", Path: "/v1/projects/{projectId}/users/{userId}/permissions", Function: "ProjectsFunction"},
	{Method: "POST", Path: "/v1/projects/{projectId}/users/{userId}/permissions/clone", Function: "ProjectsFunction"},

	{Method: "POST", Path: "/v1/exports", Function: "ExportsFunction"},
	{Method: "GET", Path: "/v1/exports", Function: "ExportsFunction"},
	{Method: "GET", Path: "/v1/exports/{exportId}", Function: "ExportsFunction"},
	{Method: "POST", Path: "/v1/imports", Function: "ExportsFunction"},

	{Method: "GET", Path: "/v1/invites/{token}", Function: "ClientFunction", Public: true},
	{Method: "POST", Path: "/v1/invites/{token}/accept", Function: "ClientFunction", Public: true},
	{Method: "GET", Path: "/v1/signup/{token}", Function: "ClientFunction", Public: true},
	{Method: "POST", Path: "/v1/signup/{token}", Function: "ClientFunction", Public: true},
	{Method: "POST", Path: "/v1/portal/login", Function: "ClientFunction", Public: true},
	{Method: "POST", Path: "/v1/portal/logout", Function: "ClientFunction", Public: true},
	{Method: "POST", Path: "/v1/portal/password-reset", Function: "ClientFunction", Public: true},
	{Method: "POST", Path: "/v1/portal/password-reset/confirm", Function: "ClientFunction", Public: true},
	{Method: "GET", Path: "/v1/me", Function: "ClientFunction", Public: true},
	{Method: "PATCH", Path: "/v1/me", Function: "ClientFunction", Public: true},
	{Method: "GET", Path: "/v1/me/projects", Function: "ClientFunction", Public: true},
	{Method: "POST", Path: "/v1/me/password", Function: "ClientFunction", Public: true},

	{Method: "GET", Path: "/portal/invite/{token}", Function: "PagesFunction", Public: true},
	{Method: "POST", Path: "/portal/invite/{token}", Function: "PagesFunction", Public: true},
	{Method: "GET", Path: "/portal/signup/{token}", Function: "PagesFunction", Public: true},
	{Method: "POST", Path: "/portal/signup/{token}", Function: "PagesFunction", Public: true},
	{Method: "GET", Path: "/portal/reset", Function: "PagesFunction", Public: true},
	{Method: "POST", Path: "/portal/reset", Function: "PagesFunction", Public: true},
	{Method: "GET", Path: "/portal/assets/style.css", Function: "PagesFunction", Public: true},
	{Method: "GET", Path: "/v1/roles", Function: "UsersFunction"},
	{Method: "POST", Path: "/v1/roles", Function: "UsersFunction"},
	{Method: "GET", Path: "/v1/roles/{roleId}", Function: "UsersFunction"},
	{Method: "PATCH", Path: "/v1/roles/{roleId}", Function: "UsersFunction"},
	{Method: "DELETE", Path: "/v1/roles/{roleId}", Function: "UsersFunction"},
	{Method: "PUT", Path: "/v1/portal/crm", Function: "CrmFunction"},
	{Method: "GET", Path: "/v1/portal/crm", Function: "CrmFunction"},
	{Method: "DELETE", Path: "/v1/portal/crm", Function: "CrmFunction"},
	{Method: "GET", Path: "/v1/crm/contacts", Function: "CrmFunction"},
	{Method: "POST", Path: "/v1/crm/imports", Function: "CrmFunction"},
	{Method: "POST", Path: "/v1/crm/deals/{dealId}/convert", Function: "CrmFunction"},
}

// wantActions is the exact set of DynamoDB actions each function may use.
// Transactions need no actions of their own (their items' actions apply).
var wantActions = map[string][]string{
	"PortalFunction":    {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	"CompaniesFunction": {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	"ProjectsFunction":  {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	"UsersFunction":     {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	"ClientFunction":    {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	"PagesFunction":     {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	"RemindersFunction": {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	"ExportsFunction":   {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	// The worker updates its job and queries user, company and project lists.
	"ExportWorkerFunction": {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams", "dynamodb:Query", "dynamodb:UpdateItem"},
	// The events function reads the stream only: no table access at all.
	"EventsFunction": {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"},
	// The CRM's: BatchGetItem reads the CRM record guards of a page at once.
	"CrmFunction": {"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	// SES's feedback: the user, its copies and a history entry (no Query).
	"MailFeedbackFunction": {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
}

// wantRules are the functions an EventBridge rule invokes.
var wantRules = map[string]bool{"MailFeedbackFunction": true}

// wantS3Actions is the exact set of S3 actions each function may use, all
// on the exports prefix only: the worker writes files (a multipart upload
// is authorized as PutObject, its abort is not), the API presigns reads.
var wantS3Actions = map[string][]string{
	"ExportsFunction":      {"s3:GetObject"},
	"ExportWorkerFunction": {"s3:AbortMultipartUpload", "s3:PutObject"},
}

// wantStream is how the table's stream triggers a function.
type wantStream struct {
	pattern   string // the one filter pattern
	batch     int
	retries   int
	maxAge    int    // MaximumRecordAgeInSeconds
	onFailure string // the queue of failed batches
}

// wantStreams are the functions the table's stream triggers: the export
// worker one job at a time; the events function 10 history entries at a
// time (one PutEvents request), retried for up to a day.
var wantStreams = map[string]wantStream{
	"ExportWorkerFunction": {`{"eventName":["INSERT"],"dynamodb":{"NewImage":{"type":{"S":["export_job"]}}}}`, 1, 2, 3600, "ExportFailures"},
	"EventsFunction":       {`{"eventName":["INSERT"],"dynamodb":{"NewImage":{"type":{"S":["history"]}}}}`, 10, 10, 86400, "EventsFailures"},
}

// wantIndexes is the one index a function may Query when it may not Query
// them all (the reminders read only the reminder index).
var wantIndexes = map[string]string{"RemindersFunction": "GSI5", "ExportsFunction": "GSI1", "ExportWorkerFunction": "GSI1"}

// wantScheduled are the functions without routes, each with its schedule.
var wantScheduled = map[string]string{"RemindersFunction": "rate(1 hour)"}

// wantSESActions is the exact set of SES actions each function may use
// (none for a function not listed): only the functions that send email
// (invitations, and notices of a change with ?notify=true / notify).
var wantSESActions = map[string][]string{
	"ClientFunction":    {"ses:SendEmail"},
	"PagesFunction":     {"ses:SendEmail"},
	"CompaniesFunction": {"ses:SendEmail"},
	"ProjectsFunction":  {"ses:SendEmail"},
	"UsersFunction":     {"ses:SendEmail"},
	"RemindersFunction": {"ses:SendEmail"},
	"CrmFunction":       {"ses:SendEmail"}, // imports invite
}

// wantKMSActions is the exact set of KMS actions each function may use, on
// CrmKey only and only for CRM credentials: the crm function seals them.
var wantKMSActions = map[string][]string{"CrmFunction": {"kms:Decrypt", "kms:Encrypt"}}

// wantEnv is each function's own environment, on top of Globals.Function's:
// MAIL_FROM for every function that sends email.
var wantEnv = map[string]map[string]any{
	"ClientFunction":    mailEnv(),
	"PagesFunction":     mailEnv(),
	"CompaniesFunction": mailEnv(),
	"ProjectsFunction":  mailEnv(),
	"UsersFunction":     mailEnv(),
	"CrmFunction":       mailEnv("CRM_KMS_KEY_ID", map[string]any{"Ref": "CrmKey"}),
	"ExportsFunction": {"EXPORTS_BUCKET": map[string]any{"Ref": "ExportsBucket"},
		"EXPORT_LINK_TTL_SECONDS": map[string]any{"Fn::Sub": "${ExportLinkTtlSeconds}"}},
	"ExportWorkerFunction": {"EXPORTS_BUCKET": map[string]any{"Ref": "ExportsBucket"}},
	"EventsFunction":       {"EVENT_BUS_NAME": map[string]any{"Ref": "EventBus"}},
	"RemindersFunction":    mailEnv("API_BASE_URL", map[string]any{"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}),
}

// mailEnv is the environment of a function that sends email: its sender
// and the configuration set whose events report on every message; kv adds
// a variable.
func mailEnv(kv ...any) map[string]any {
	env := map[string]any{"MAIL_FROM": map[string]any{"Ref": "MailFrom"}, "MAIL_CONFIGURATION_SET": map[string]any{"Ref": "MailConfigurationSet"}}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i].(string)] = kv[i+1]
	}
	return env
}

// wantTimeout is each function's effective timeout in seconds: cascading
// deletes get 28 s, just under HTTP API's 30 s integration limit.
var wantTimeout = map[string]int{
	"PortalFunction":       10,
	"CompaniesFunction":    28,
	"ProjectsFunction":     28,
	"UsersFunction":        28, // a bulk add of 100 addresses sends 100 emails
	"CrmFunction":          28, // an import reads 100 contacts, then adds and invites each
	"ClientFunction":       10,
	"PagesFunction":        10,
	"RemindersFunction":    300, // pages the reminder index; stops 30 s before
	"ExportsFunction":      28,  // an import writes up to 1,000 rows
	"ExportWorkerFunction": 900, // Lambda's maximum: the largest exports
	"EventsFunction":       60,  // 10 entries, a few PutEvents with retries
	"MailFeedbackFunction": 10,
}

func load(t *testing.T) (*Template, string) {
	t.Helper()
	path, err := FindFile()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl, path
}

func globalFunction(t *testing.T, tmpl *Template) *global.Function {
	t.Helper()
	g, err := tmpl.cfn.GetServerlessGlobalFunction()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFunctions(t *testing.T) {
	tmpl, path := load(t)
	g := globalFunction(t, tmpl)

	// The functions are exactly those that serve wantRoutes, and the
	// scheduled ones.
	var want []string
	for id := range wantScheduled {
		want = append(want, id)
	}
	for id := range wantStreams {
		want = append(want, id)
	}
	for id := range wantRules {
		want = append(want, id)
	}
	for _, r := range wantRoutes {
		if !slices.Contains(want, r.Function) {
			want = append(want, r.Function)
		}
	}
	sort.Strings(want)
	if got := tmpl.Functions(); !slices.Equal(got, want) {
		t.Fatalf("Functions() = %v, want %v", got, want)
	}

	for _, id := range tmpl.Functions() {
		t.Run(id, func(t *testing.T) {
			fn, err := tmpl.cfn.GetServerlessFunctionWithName(id)
			if err != nil {
				t.Fatal(err)
			}
			// A function's own value overrides Globals.Function.
			runtime := aws.ToString(first(fn.Runtime, g.Runtime))
			handler := aws.ToString(first(fn.Handler, g.Handler))
			timeout := aws.ToInt(first(fn.Timeout, g.Timeout))
			memory := aws.ToInt(first(fn.MemorySize, g.MemorySize))
			arch := fn.Architectures
			if arch == nil && g.Architectures != nil {
				arch = *g.Architectures
			}
			codeURI := ""
			if fn.CodeUri != nil {
				codeURI = aws.ToString(fn.CodeUri.String)
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"Runtime", runtime, "provided.al2023"},
				{"Architectures", arch, []string{"arm64"}},
				{"Handler", handler, "bootstrap"},
				{"CodeUri", codeURI, "."},
				{"Metadata.BuildMethod", fn.AWSCloudFormationMetadata["BuildMethod"], "makefile"},
				{"MemorySize", memory, 256},
				{"Timeout", timeout, wantTimeout[id]},
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
				}
			}
		})
	}

	// The Makefile is SAM's build entry point (BuildMethod makefile): it
	// must have a build-<LogicalId> target for every function.
	t.Run("Makefile", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(path), "Makefile"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for _, id := range tmpl.Functions() {
			target := "build-" + id + ":"
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, target) }) {
				t.Errorf("Makefile has no %q target", target)
			}
		}
	})
}

func first[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

// TestSchedules: each scheduled function runs on its schedule, enabled,
// and has no other event (it is not behind the API).
func TestSchedules(t *testing.T) {
	tmpl, _ := load(t)
	for id, rate := range wantScheduled {
		t.Run(id, func(t *testing.T) {
			events, _ := lookup(tmpl.raw, "Resources", id, "Properties", "Events").(map[string]any)
			if len(events) != 1 {
				t.Fatalf("events = %v, want exactly one Schedule", events)
			}
			for _, ev := range events {
				checks := []struct {
					name      string
					got, want any
				}{
					{"Type", lookup(ev, "Type"), "Schedule"},
					{"Schedule", lookup(ev, "Properties", "Schedule"), rate},
					{"Enabled", lookup(ev, "Properties", "Enabled"), true},
				}
				for _, c := range checks {
					if !reflect.DeepEqual(c.got, c.want) {
						t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
					}
				}
			}
		})
	}
}

// TestStreams: each stream-triggered function reads the table's stream
// (NEW_IMAGE) one record at a time, filtered to what it handles, with
// bounded retries and an on-failure destination, through a plain event
// source mapping; no function has a SAM stream or queue event, which would
// bring a managed policy reading every stream or queue of the account.
func TestStreams(t *testing.T) {
	tmpl, _ := load(t)
	if got := lookup(tmpl.raw, "Resources", "Table", "Properties", "StreamSpecification", "StreamViewType"); got != "NEW_IMAGE" {
		t.Errorf("Table StreamViewType = %v, want NEW_IMAGE", got)
	}
	mappings := map[string][]any{} // function id -> its event source mappings
	for _, res := range tmpl.raw["Resources"].(map[string]any) {
		if lookup(res, "Type") == "AWS::Lambda::EventSourceMapping" {
			fn, _ := lookup(res, "Properties", "FunctionName", "Ref").(string)
			mappings[fn] = append(mappings[fn], lookup(res, "Properties"))
		}
	}
	for _, id := range tmpl.Functions() {
		events, _ := lookup(tmpl.raw, "Resources", id, "Properties", "Events").(map[string]any)
		for name, ev := range events {
			if typ := lookup(ev, "Type"); typ == "DynamoDB" || typ == "SQS" || typ == "Kinesis" {
				t.Errorf("%s: event %s is a SAM %v event (it brings a managed policy on Resource \"*\")", id, name, typ)
			}
		}
		if _, ok := wantStreams[id]; !ok && len(mappings[id]) > 0 {
			t.Errorf("%s has an event source mapping", id)
		}
	}
	for id, want := range wantStreams {
		t.Run(id, func(t *testing.T) {
			if len(mappings[id]) != 1 {
				t.Fatalf("event source mappings = %v, want exactly one", mappings[id])
			}
			m := mappings[id][0]
			filters, _ := lookup(m, "FilterCriteria", "Filters").([]any)
			checks := []struct {
				name      string
				got, want any
			}{
				{"EventSourceArn", lookup(m, "EventSourceArn"), map[string]any{"Fn::GetAtt": "Table.StreamArn"}},
				{"BatchSize", lookup(m, "BatchSize"), float64(want.batch)},
				{"MaximumRetryAttempts", lookup(m, "MaximumRetryAttempts"), float64(want.retries)},
				{"MaximumRecordAgeInSeconds", lookup(m, "MaximumRecordAgeInSeconds"), float64(want.maxAge)},
				{"Filters", len(filters), 1},
				{"Pattern", lookup(m, "FilterCriteria", "Filters", "0"), nil},
				{"OnFailure", lookup(m, "DestinationConfig", "OnFailure", "Destination"), map[string]any{"Fn::GetAtt": want.onFailure + ".Arn"}},
			}
			if len(filters) == 1 {
				checks[5].got, checks[5].want = lookup(filters[0], "Pattern"), want.pattern
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
				}
			}
		})
	}
}

// TestEventSourceMapping reads the export worker's trigger as the local
// stack applies it, and Lambda's defaults for what a mapping leaves out.
func TestEventSourceMapping(t *testing.T) {
	tmpl, _ := load(t)
	got, err := tmpl.EventSourceMapping("ExportWorkerFunction")
	if err != nil {
		t.Fatal(err)
	}
	want := EventSourceMapping{ID: "ExportWorkerTrigger", Source: "Table", Enabled: true, StartingPosition: "LATEST",
		BatchSize: 1, MaximumRetryAttempts: 2, MaximumRecordAgeInSeconds: 3600,
		Filters:   []string{wantStreams["ExportWorkerFunction"].pattern},
		OnFailure: "ExportFailures"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EventSourceMapping =\n%#v\nwant\n%#v", got, want)
	}
	if _, err := tmpl.EventSourceMapping("PortalFunction"); err == nil || !strings.Contains(err.Error(), "declares 0") {
		t.Errorf("a function without a mapping: error %v", err)
	}

	path := filepath.Join(t.TempDir(), FileName)
	mini := `Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
  Trigger:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Fn
      EventSourceArn: !GetAtt [Table, StreamArn]
      StartingPosition: TRIM_HORIZON
      Enabled: false
`
	if err := os.WriteFile(path, []byte(mini), 0o600); err != nil {
		t.Fatal(err)
	}
	if tmpl, err = Load(path); err != nil {
		t.Fatal(err)
	}
	got, err = tmpl.EventSourceMapping("Fn")
	want = EventSourceMapping{ID: "Trigger", Source: "Table", StartingPosition: "TRIM_HORIZON", BatchSize: 100, MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("defaults: %#v, %v; want %#v", got, err, want)
	}
}

func TestLogGroups(t *testing.T) {
	tmpl, _ := load(t)
	// Every function's log group is declared, so that retention applies.
	type group struct{ name, retention any }
	var groups []group
	for _, res := range tmpl.raw["Resources"].(map[string]any) {
		if lookup(res, "Type") == "AWS::Logs::LogGroup" {
			groups = append(groups, group{lookup(res, "Properties", "LogGroupName"), lookup(res, "Properties", "RetentionInDays")})
		}
	}
	for _, id := range tmpl.Functions() {
		t.Run(id, func(t *testing.T) {
			name := map[string]any{"Fn::Sub": "/aws/lambda/${" + id + "}"}
			i := slices.IndexFunc(groups, func(g group) bool { return reflect.DeepEqual(g.name, name) })
			if i < 0 {
				t.Fatalf("no AWS::Logs::LogGroup named /aws/lambda/${%s}", id)
			}
			if want := map[string]any{"Ref": "LogRetentionDays"}; !reflect.DeepEqual(groups[i].retention, want) {
				t.Errorf("RetentionInDays = %v, want %v", groups[i].retention, want)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	tmpl, _ := load(t)
	want := slices.Clone(wantRoutes)
	sort.Slice(want, func(i, j int) bool { return want[i].Key() < want[j].Key() })
	got := tmpl.Routes()
	if !slices.Equal(got, want) {
		t.Errorf("routes differ\n got: %v\nwant: %v", got, want)
		for _, r := range got {
			if !slices.Contains(want, r) {
				t.Errorf("unexpected route %s -> %s (public %v)", r.Key(), r.Function, r.Public)
			}
		}
		for _, r := range want {
			if !slices.Contains(got, r) {
				t.Errorf("missing route %s -> %s (public %v)", r.Key(), r.Function, r.Public)
			}
		}
	}

	// Every HttpApi event attaches to our HttpApi with an upper-case method
	// (goformation drops the ApiId Ref, so read the raw view).
	for _, id := range tmpl.Functions() {
		events, _ := lookup(tmpl.raw, "Resources", id, "Properties", "Events").(map[string]any)
		for name, ev := range events {
			if lookup(ev, "Type") != "HttpApi" {
				continue
			}
			t.Run(id+"/"+name, func(t *testing.T) {
				if got, want := lookup(ev, "Properties", "ApiId"), map[string]any{"Ref": "HttpApi"}; !reflect.DeepEqual(got, want) {
					t.Errorf("ApiId = %v, want %v", got, want)
				}
				if m, _ := lookup(ev, "Properties", "Method").(string); m != strings.ToUpper(m) {
					t.Errorf("Method %q is not upper-case", m)
				}
				// The staff JWT authorizer (the API's default) guards every
				// route but the client portal's, which opt out with exactly
				// Authorizer NONE; no route names another authorizer.
				auth := lookup(ev, "Properties", "Auth")
				public := id == "ClientFunction" || id == "PagesFunction"
				if want := map[string]any{"Authorizer": "NONE"}; public && !reflect.DeepEqual(auth, want) {
					t.Errorf("Auth = %v, want %v", auth, want)
				}
				if !public && auth != nil {
					t.Errorf("Auth = %v: a staff route keeps the default StaffJwt authorizer", auth)
				}
			})
		}
	}
}

func TestRouteKey(t *testing.T) {
	tests := []struct {
		route Route
		want  string
	}{
		{Route{Method: "GET", Path: "/v1/portal"}, "GET /v1/portal"},
		{Route{Method: "DELETE", Path: "/v1/companies/{companyId}"}, "DELETE /v1/companies/{companyId}"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.route.Key(); got != tt.want {
				t.Errorf("Key() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLeastPrivilege reads the policies from the raw view: goformation turns
// !GetAtt Table.Arn into null and "${Table.Arn}/index/*" into "/index/*".
func TestLeastPrivilege(t *testing.T) {
	tmpl, _ := load(t)
	// Email may be sent only through the one verified identity, and only
	// from MailFrom.
	identityARN := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}"}
	// Sending through a configuration set is authorized on it too.
	configSetARN := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}"}
	fromCondition := map[string]any{"StringEquals": map[string]any{"ses:FromAddress": map[string]any{"Ref": "MailFrom"}}}
	tableARN := map[string]any{"Fn::GetAtt": "Table.Arn"}
	tableARNList := map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}
	indexARN := map[string]any{"Fn::Sub": "${Table.Arn}/index/*"}
	isIndex := func(id string, r any) bool {
		if idx, ok := wantIndexes[id]; ok {
			return reflect.DeepEqual(r, map[string]any{"Fn::Sub": "${Table.Arn}/index/" + idx})
		}
		return reflect.DeepEqual(r, indexARN)
	}
	isTable := func(r any) bool {
		return reflect.DeepEqual(r, tableARN) || reflect.DeepEqual(r, tableARNList)
	}
	// The stream is read only by the functions it triggers, only with the
	// stream actions, and only this table's.
	streamARN := map[string]any{"Fn::Sub": "${Table.Arn}/stream/*"}
	streamActions := []any{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
	busARN := map[string]any{"Fn::GetAtt": "EventBus.Arn"}

	for _, id := range tmpl.Functions() {
		t.Run(id, func(t *testing.T) {
			props, _ := lookup(tmpl.raw, "Resources", id, "Properties").(map[string]any)
			for _, k := range []string{"Role", "ManagedPolicies"} {
				if _, ok := props[k]; ok {
					t.Errorf("%s is set: permissions must be the inline policies checked here", k)
				}
			}
			policies, ok := props["Policies"].([]any)
			if !ok || len(policies) == 0 {
				t.Fatal("no Policies list")
			}
			var actions, sesActions, s3Actions, kmsActions []string
			for i, p := range policies {
				stmts, ok := lookup(p, "Statement").([]any)
				if !ok {
					// A managed policy name or SAM policy template cannot be
					// checked here (DynamoDBCrudPolicy, for one, allows Scan).
					t.Errorf("policy %d is not an inline {Statement: [...]} document: %v", i, p)
					continue
				}
				for j, s := range stmts {
					st, _ := s.(map[string]any)
					where := fmt.Sprintf("policy %d statement %d (%v)", i, j, st["Sid"])
					for _, k := range []string{"NotAction", "NotResource"} {
						if _, ok := st[k]; ok {
							t.Errorf("%s: %s grants everything but a list", where, k)
						}
					}
					if st["Effect"] != "Allow" {
						t.Errorf("%s: Effect = %v, want Allow", where, st["Effect"])
					}
					acts := asList(st["Action"])
					if len(acts) == 0 {
						t.Errorf("%s: no Action", where)
					}
					dynamo, ses, s3, sqs, events, kms := false, false, false, false, false, false
					for _, a := range acts {
						s, ok := a.(string)
						switch {
						case !ok:
							t.Errorf("%s: Action %v is not a literal", where, a)
						case strings.Contains(s, "*"):
							t.Errorf("%s: wildcard Action %q", where, s)
						case strings.EqualFold(s, "dynamodb:Scan"):
							t.Errorf("%s: dynamodb:Scan is not allowed (list with Query)", where)
						}
						switch service, _, _ := strings.Cut(strings.ToLower(s), ":"); service {
						case "dynamodb":
							dynamo = true
							actions = append(actions, s)
						case "ses":
							ses = true
							sesActions = append(sesActions, s)
						case "s3":
							s3 = true
							s3Actions = append(s3Actions, s)
						case "sqs":
							sqs = true
						case "events":
							events = true
						case "kms":
							kms = true
							kmsActions = append(kmsActions, s)
						default:
							t.Errorf("%s: Action %q is neither DynamoDB, SES, S3, SQS, EventBridge nor KMS", where, s)
						}
					}
					if n := len(slices.DeleteFunc([]bool{dynamo, ses, s3, sqs, events, kms}, func(b bool) bool { return !b })); n > 1 {
						t.Errorf("%s: actions of two services share a statement", where)
					}
					if sqs {
						// Only the stream trigger's failed deliveries, to its queue.
						stream, streamed := wantStreams[id]
						failuresARN := map[string]any{"Fn::GetAtt": stream.onFailure + ".Arn"}
						if res := asList(st["Resource"]); !streamed || !slices.Equal(acts, []any{"sqs:SendMessage"}) || len(res) != 1 || !reflect.DeepEqual(res[0], failuresARN) {
							t.Errorf("%s: SQS %v on %v: only a stream-triggered function may sqs:SendMessage, to its own %v", where, acts, st["Resource"], failuresARN)
						}
					}
					if events {
						// Only the events function, only PutEvents, only on its bus.
						if res := asList(st["Resource"]); id != "EventsFunction" || !slices.Equal(acts, []any{"events:PutEvents"}) || len(res) != 1 || !reflect.DeepEqual(res[0], busARN) {
							t.Errorf("%s: EventBridge %v on %v: only EventsFunction may events:PutEvents, on %v", where, acts, st["Resource"], busARN)
						}
						continue
					}
					if kms {
						// Only CrmKey, only for CRM credentials (the
						// encryption context package seal writes).
						want := map[string]any{"StringEquals": map[string]any{"kms:EncryptionContext:purpose": "crm-credentials"}}
						if res := asList(st["Resource"]); len(res) != 1 || !reflect.DeepEqual(res[0], map[string]any{"Fn::GetAtt": "CrmKey.Arn"}) ||
							!reflect.DeepEqual(st["Condition"], want) {
							t.Errorf("%s: KMS on %v if %v: want CrmKey.Arn only, if %v", where, st["Resource"], st["Condition"], want)
						}
					}
					if s3 {
						// Only the exports prefix, never the bucket or "*".
						want := map[string]any{"Fn::Sub": "${ExportsBucket.Arn}/exports/*"}
						if res := asList(st["Resource"]); len(res) != 1 || !reflect.DeepEqual(res[0], want) {
							t.Errorf("%s: S3 Resource = %v, want only %v", where, st["Resource"], want)
						}
					}
					if ses {
						// Scoped to the identity and the configuration set,
						// never "*" or a pattern, and only with MailFrom as
						// the sender.
						res := asList(st["Resource"])
						if len(res) != 2 || !reflect.DeepEqual(res[0], identityARN) || !reflect.DeepEqual(res[1], configSetARN) {
							t.Errorf("%s: SES Resource = %v, want only %v and %v", where, st["Resource"], identityARN, configSetARN)
						}
						for _, r := range res {
							// A literal or the string of an Fn::Sub.
							if strings.Contains(fmt.Sprint(r), "*") {
								t.Errorf("%s: wildcard SES Resource %v", where, r)
							}
						}
						if !reflect.DeepEqual(st["Condition"], fromCondition) {
							t.Errorf("%s: SES Condition = %v, want %v", where, st["Condition"], fromCondition)
						}
					}
					res := asList(st["Resource"])
					if len(res) == 0 {
						t.Errorf("%s: no Resource", where)
					}
					for _, r := range res {
						if r == "*" {
							t.Errorf("%s: Resource \"*\"", where)
						}
						if reflect.DeepEqual(r, streamARN) {
							if _, ok := wantStreams[id]; !ok || !slices.Equal(acts, streamActions) || len(res) != 1 {
								t.Errorf("%s: %v on the stream: only a stream-triggered function reads it, with exactly %v", where, acts, streamActions)
							}
							continue
						}
						if dynamo && !isTable(r) && !isIndex(id, r) {
							t.Errorf("%s: DynamoDB Resource %v is neither the table ARN nor its allowed index ARN", where, r)
						}
						// Only Query can use an index; item actions on
						// index ARNs would be noise that hides mistakes.
						if isIndex(id, r) {
							for _, a := range acts {
								if a != "dynamodb:Query" {
									t.Errorf("%s: %v on the indexes: only dynamodb:Query reads an index", where, a)
								}
							}
						}
					}
				}
			}
			sort.Strings(actions)
			actions = slices.Compact(actions)
			if want := wantActions[id]; !slices.Equal(actions, want) {
				t.Errorf("DynamoDB actions = %v, want %v", actions, want)
			}
			sort.Strings(s3Actions)
			if want := wantS3Actions[id]; !slices.Equal(slices.Compact(s3Actions), want) {
				t.Errorf("S3 actions = %v, want %v", s3Actions, want)
			}
			sort.Strings(sesActions)
			sesActions = slices.Compact(sesActions)
			if want := wantSESActions[id]; !slices.Equal(sesActions, want) {
				t.Errorf("SES actions = %v, want %v", sesActions, want)
			}
			sort.Strings(kmsActions)
			if want := wantKMSActions[id]; !slices.Equal(slices.Compact(kmsActions), want) {
				t.Errorf("KMS actions = %v, want %v", kmsActions, want)
			}
		})
	}
}

// asList normalizes an IAM field that may be one value or a list.
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

func TestTable(t *testing.T) {
	tmpl, _ := load(t)
	tbl, err := tmpl.cfn.GetDynamoDBTableWithName("Table")
	if err != nil {
		t.Fatal(err)
	}
	gsis := map[string]string{}
	for _, g := range tbl.GlobalSecondaryIndexes {
		proj := ""
		if g.Projection != nil {
			proj = aws.ToString(g.Projection.ProjectionType)
		}
		gsis[g.IndexName] = keys(g.KeySchema) + " " + proj
	}
	attrs := map[string]string{}
	for _, a := range tbl.AttributeDefinitions {
		attrs[a.AttributeName] = a.AttributeType
	}
	ttl := ""
	if s := tbl.TimeToLiveSpecification; s != nil && s.Enabled {
		ttl = aws.ToString(s.AttributeName)
	}
	pitr := tbl.PointInTimeRecoverySpecification != nil && aws.ToBool(tbl.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled)
	sse := tbl.SSESpecification != nil && tbl.SSESpecification.SSEEnabled

	checks := []struct {
		name      string
		got, want any
	}{
		{"BillingMode", aws.ToString(tbl.BillingMode), "PAY_PER_REQUEST"},
		{"KeySchema", keys(tbl.KeySchema), "PK HASH, SK RANGE"},
		{"AttributeDefinitions", attrs, map[string]string{"PK": "S", "SK": "S", "GSI1PK": "S", "GSI1SK": "S", "GSI2PK": "S", "GSI2SK": "S", "GSI3PK": "S", "GSI3SK": "S", "GSI4PK": "S", "GSI4SK": "S", "GSI5PK": "S", "GSI5SK": "S"}},
		{"GlobalSecondaryIndexes", gsis, map[string]string{"GSI1": "GSI1PK HASH, GSI1SK RANGE ALL", "GSI2": "GSI2PK HASH, GSI2SK RANGE ALL", "GSI3": "GSI3PK HASH, GSI3SK RANGE ALL", "GSI4": "GSI4PK HASH, GSI4SK RANGE ALL", "GSI5": "GSI5PK HASH, GSI5SK RANGE KEYS_ONLY"}},
		{"TimeToLiveSpecification", ttl, "expiresAt"},
		{"PointInTimeRecoveryEnabled", pitr, true},
		{"DeletionProtectionEnabled", aws.ToBool(tbl.DeletionProtectionEnabled), true},
		{"SSEEnabled", sse, true},
		{"DeletionPolicy", tbl.AWSCloudFormationDeletionPolicy, policies.DeletionPolicy("Retain")},
		{"UpdateReplacePolicy", tbl.AWSCloudFormationUpdateReplacePolicy, policies.UpdateReplacePolicy("Retain")},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func keys(ks []cfndynamodb.Table_KeySchema) string {
	var s []string
	for _, k := range ks {
		s = append(s, k.AttributeName+" "+k.KeyType)
	}
	return strings.Join(s, ", ")
}

func TestExportsBucket(t *testing.T) {
	tmpl, _ := load(t)
	b, err := tmpl.cfn.GetS3BucketWithName("ExportsBucket")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("PublicAccessBlock", func(t *testing.T) {
		p := b.PublicAccessBlockConfiguration
		if p == nil {
			t.Fatal("no PublicAccessBlockConfiguration")
		}
		for name, v := range map[string]*bool{
			"BlockPublicAcls":       p.BlockPublicAcls,
			"BlockPublicPolicy":     p.BlockPublicPolicy,
			"IgnorePublicAcls":      p.IgnorePublicAcls,
			"RestrictPublicBuckets": p.RestrictPublicBuckets,
		} {
			if !aws.ToBool(v) {
				t.Errorf("%s is not true", name)
			}
		}
	})

	t.Run("Encryption", func(t *testing.T) {
		if b.BucketEncryption == nil || len(b.BucketEncryption.ServerSideEncryptionConfiguration) == 0 {
			t.Fatal("no BucketEncryption")
		}
		for _, r := range b.BucketEncryption.ServerSideEncryptionConfiguration {
			if r.ServerSideEncryptionByDefault == nil {
				t.Fatal("encryption rule without ServerSideEncryptionByDefault")
			}
			if alg := r.ServerSideEncryptionByDefault.SSEAlgorithm; !slices.Contains([]string{"AES256", "aws:kms", "aws:kms:dsse"}, alg) {
				t.Errorf("SSEAlgorithm = %q", alg)
			}
		}
	})

	t.Run("OwnershipControls", func(t *testing.T) {
		if b.OwnershipControls == nil || len(b.OwnershipControls.Rules) != 1 ||
			aws.ToString(b.OwnershipControls.Rules[0].ObjectOwnership) != "BucketOwnerEnforced" {
			t.Errorf("OwnershipControls = %+v, want one BucketOwnerEnforced rule", b.OwnershipControls)
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		if b.LifecycleConfiguration == nil {
			t.Fatal("no LifecycleConfiguration")
		}
		expires, aborts := false, false
		for _, r := range b.LifecycleConfiguration.Rules {
			if r.Status != "Enabled" {
				continue
			}
			prefix := aws.ToString(r.Prefix)
			if prefix == "exports/" && aws.ToInt(r.ExpirationInDays) == 7 {
				expires = true
			}
			// Bucket-wide or at least over exports/, where uploads go.
			if a := r.AbortIncompleteMultipartUpload; a != nil && a.DaysAfterInitiation == 1 && (prefix == "" || prefix == "exports/") {
				aborts = true
			}
		}
		if !expires {
			t.Error("no enabled rule expiring exports/ after 7 days")
		}
		if !aborts {
			t.Error("no enabled rule aborting incomplete multipart uploads after 1 day")
		}
	})

	t.Run("DenyInsecureTransport", func(t *testing.T) {
		found := false
		for _, res := range tmpl.raw["Resources"].(map[string]any) {
			if lookup(res, "Type") != "AWS::S3::BucketPolicy" ||
				!reflect.DeepEqual(lookup(res, "Properties", "Bucket"), map[string]any{"Ref": "ExportsBucket"}) {
				continue
			}
			stmts, _ := lookup(res, "Properties", "PolicyDocument", "Statement").([]any)
			for _, s := range stmts {
				if lookup(s, "Effect") == "Deny" && lookup(s, "Condition", "Bool", "aws:SecureTransport") == "false" &&
					slices.ContainsFunc(asList(lookup(s, "Resource")), func(r any) bool {
						return reflect.DeepEqual(r, map[string]any{"Fn::Sub": "${ExportsBucket.Arn}/*"})
					}) {
					found = true
				}
			}
		}
		if !found {
			t.Error("no bucket policy on ExportsBucket denying aws:SecureTransport false on its objects")
		}
	})
}

// TestHTTPAPI reads Auth from the raw view: goformation resolves the
// parameter Refs of JwtConfiguration to null.
func TestHTTPAPI(t *testing.T) {
	tmpl, _ := load(t)
	if _, err := tmpl.cfn.GetServerlessHttpApiWithName("HttpApi"); err != nil {
		t.Fatal(err)
	}
	auth := lookup(tmpl.raw, "Resources", "HttpApi", "Properties", "Auth")
	jwt := lookup(auth, "Authorizers", "StaffJwt")
	checks := []struct {
		name      string
		got, want any
	}{
		{"DefaultAuthorizer", lookup(auth, "DefaultAuthorizer"), "StaffJwt"},
		{"IdentitySource", lookup(jwt, "IdentitySource"), "$request.header.Authorization"},
		{"issuer", lookup(jwt, "JwtConfiguration", "issuer"), map[string]any{"Ref": "JwtIssuer"}},
		{"audience", lookup(jwt, "JwtConfiguration", "audience"), []any{map[string]any{"Ref": "JwtAudience"}}},
		{"JwtIssuer parameter", lookup(tmpl.raw, "Parameters", "JwtIssuer", "Type"), "String"},
		{"JwtAudience parameter", lookup(tmpl.raw, "Parameters", "JwtAudience", "Type"), "String"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestParametersAndOutputs(t *testing.T) {
	tmpl, _ := load(t)
	params := map[string]struct {
		typ string
		def any
	}{
		"JwtIssuer":            {"String", nil},
		"JwtAudience":          {"String", nil},
		"ExportLinkTtlSeconds": {"Number", float64(900)},
		"LogRetentionDays":     {"Number", float64(30)},
		"MailFrom":             {"String", "no-reply@example.com"},
		"MailIdentity":         {"String", "example.com"},
	}
	for name, want := range params {
		t.Run("Parameters/"+name, func(t *testing.T) {
			p := lookup(tmpl.raw, "Parameters", name)
			if p == nil {
				t.Fatal("missing")
			}
			if got := lookup(p, "Type"); got != want.typ {
				t.Errorf("Type = %v, want %v", got, want.typ)
			}
			if got := lookup(p, "Default"); got != want.def {
				t.Errorf("Default = %v, want %v", got, want.def)
			}
		})
	}
	for _, name := range []string{"ApiUrl", "TableName", "ExportsBucketName"} {
		t.Run("Outputs/"+name, func(t *testing.T) {
			if _, ok := tmpl.cfn.Outputs[name]; !ok {
				t.Error("missing")
			}
		})
	}
	t.Run("CursorSecret", func(t *testing.T) {
		gen := lookup(tmpl.raw, "Resources", "CursorSecret", "Properties", "GenerateSecretString")
		if lookup(tmpl.raw, "Resources", "CursorSecret", "Type") != "AWS::SecretsManager::Secret" ||
			lookup(gen, "ExcludePunctuation") != true || lookup(gen, "PasswordLength") != float64(48) {
			t.Errorf("CursorSecret: want a generated 48-character secret without punctuation, got %v", gen)
		}
	})
}

func TestEnvVars(t *testing.T) {
	tmpl, _ := load(t)
	for _, id := range tmpl.Functions() {
		t.Run(id, func(t *testing.T) {
			got := tmpl.EnvVars(id)
			want := map[string]string{"TABLE_NAME": "", "CURSOR_SECRET": "", "LOG_LEVEL": "info"}
			for name, v := range wantEnv[id] {
				want[name], _ = v.(string) // "" for an intrinsic
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("EnvVars = %v, want %v", got, want)
			}
			// The function's own variables, in the raw view (intrinsics kept).
			own, _ := lookup(tmpl.raw, "Resources", id, "Properties", "Environment", "Variables").(map[string]any)
			if len(own) == 0 {
				own = nil
			}
			var wantOwn map[string]any
			if len(wantEnv[id]) > 0 {
				wantOwn = wantEnv[id]
			}
			if !reflect.DeepEqual(own, wantOwn) {
				t.Errorf("own Environment.Variables = %v, want %v", own, wantOwn)
			}
		})
	}
	// A function may send email exactly when it knows its sender: SES
	// permission and MAIL_FROM go together.
	t.Run("MAIL_FROM", func(t *testing.T) {
		for _, id := range tmpl.Functions() {
			from := lookup(tmpl.raw, "Resources", id, "Properties", "Environment", "Variables", "MAIL_FROM")
			if sends := len(wantSESActions[id]) > 0; sends != (from != nil) {
				t.Errorf("%s: sends email %v, but MAIL_FROM = %v", id, sends, from)
			}
		}
	})
	// The secret reaches the functions as a deploy-time dynamic reference,
	// so a cold start makes no Secrets Manager call.
	t.Run("CURSOR_SECRET", func(t *testing.T) {
		got := lookup(tmpl.raw, "Globals", "Function", "Environment", "Variables", "CURSOR_SECRET")
		want := map[string]any{"Fn::Sub": "{{resolve:secretsmanager:${CursorSecret}:SecretString}}"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("CURSOR_SECRET = %v, want %v", got, want)
		}
	})
	t.Run("TABLE_NAME", func(t *testing.T) {
		got := lookup(tmpl.raw, "Globals", "Function", "Environment", "Variables", "TABLE_NAME")
		if want := map[string]any{"Ref": "Table"}; !reflect.DeepEqual(got, want) {
			t.Errorf("TABLE_NAME = %v, want %v", got, want)
		}
	})
}

func TestCreateTableInput(t *testing.T) {
	tmpl, _ := load(t)
	in, err := tmpl.CreateTableInput("clientele-test")
	if err != nil {
		t.Fatal(err)
	}
	gsis := map[string]string{}
	for _, g := range in.GlobalSecondaryIndexes {
		gsis[aws.ToString(g.IndexName)] = sdkKeys(g.KeySchema) + " " + string(g.Projection.ProjectionType)
	}
	attrs := map[string]ddbtypes.ScalarAttributeType{}
	for _, a := range in.AttributeDefinitions {
		attrs[aws.ToString(a.AttributeName)] = a.AttributeType
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"TableName", aws.ToString(in.TableName), "clientele-test"},
		{"BillingMode", in.BillingMode, ddbtypes.BillingModePayPerRequest},
		{"KeySchema", sdkKeys(in.KeySchema), "PK HASH, SK RANGE"},
		{"AttributeDefinitions", attrs, map[string]ddbtypes.ScalarAttributeType{"PK": "S", "SK": "S", "GSI1PK": "S", "GSI1SK": "S", "GSI2PK": "S", "GSI2SK": "S", "GSI3PK": "S", "GSI3SK": "S", "GSI4PK": "S", "GSI4SK": "S", "GSI5PK": "S", "GSI5SK": "S"}},
		{"GlobalSecondaryIndexes", gsis, map[string]string{"GSI1": "GSI1PK HASH, GSI1SK RANGE ALL", "GSI2": "GSI2PK HASH, GSI2SK RANGE ALL", "GSI3": "GSI3PK HASH, GSI3SK RANGE ALL", "GSI4": "GSI4PK HASH, GSI4SK RANGE ALL", "GSI5": "GSI5PK HASH, GSI5SK RANGE KEYS_ONLY"}},
		{"ProvisionedThroughput", in.ProvisionedThroughput, (*ddbtypes.ProvisionedThroughput)(nil)},
		{"StreamSpecification", in.StreamSpecification, &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewImage}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func sdkKeys(ks []ddbtypes.KeySchemaElement) string {
	var s []string
	for _, k := range ks {
		s = append(s, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return strings.Join(s, ", ")
}

// A minimal template for the error and merge cases below.
const miniTemplate = `Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Environment:
      Variables:
        A: global
        B: !Ref Thing
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: %s
      KeySchema:
        - AttributeName: PK
          KeyType: HASH
      AttributeDefinitions:
        - AttributeName: PK
          AttributeType: S
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Environment:
        Variables:
          A: own
          C: 3
      Events:
%s
`

const (
	getPortal = `        Get:
          Type: HttpApi
          Properties:
            Path: /v1/portal
            Method: get
            Auth:
              Authorizer: NONE`
	getPortalAgain = getPortal + `
        Again:
          Type: HttpApi
          Properties:
            Path: /v1/portal
            Method: GET`
	noPath = `        Get:
          Type: HttpApi
          Properties:
            Method: GET`
)

func writeTemplate(t *testing.T, billing, events string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, fmt.Appendf(nil, miniTemplate, billing, events), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope.yaml"), "no such file"},
		{"event without Path", writeTemplate(t, "PAY_PER_REQUEST", noPath), "needs Method and Path"},
		{"duplicate route", writeTemplate(t, "PAY_PER_REQUEST", getPortalAgain), "declared by both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMiniTemplate(t *testing.T) {
	tmpl, err := Load(writeTemplate(t, "PAY_PER_REQUEST", getPortal))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Routes", func(t *testing.T) {
		want := []Route{{Method: "GET", Path: "/v1/portal", Function: "Fn", Public: true}}
		if got := tmpl.Routes(); !slices.Equal(got, want) {
			t.Errorf("Routes() = %v, want %v", got, want)
		}
	})
	t.Run("EnvVars", func(t *testing.T) {
		// The function's own value wins; an intrinsic reads as "".
		want := map[string]string{"A": "own", "B": "", "C": "3"}
		if got := tmpl.EnvVars("Fn"); !reflect.DeepEqual(got, want) {
			t.Errorf("EnvVars = %v, want %v", got, want)
		}
	})
	t.Run("provisioned table", func(t *testing.T) {
		tmpl, err := Load(writeTemplate(t, "PROVISIONED", getPortal))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tmpl.CreateTableInput("x"); err == nil || !strings.Contains(err.Error(), "PAY_PER_REQUEST") {
			t.Errorf("CreateTableInput error = %v, want a PAY_PER_REQUEST error", err)
		}
	})
}

func TestFindFile(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, FileName), []byte("Resources: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(nested, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(nested)
	got, err := FindFile()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(filepath.Join(root, FileName))
	if got, _ = filepath.EvalSymlinks(got); got != want {
		t.Errorf("FindFile() = %q, want %q", got, want)
	}
}

// TestLoadConcurrent guards the lock around goformation's parser, which
// mutates a global map on every call (go test -race catches a regression).
func TestLoadConcurrent(t *testing.T) {
	path, err := FindFile()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			if _, err := Load(path); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestEventBus: the bus of the history's events, named after the stack,
// and an alarm that fires as soon as a batch of them was given up on.
func TestEventBus(t *testing.T) {
	tmpl, _ := load(t)
	checks := []struct {
		name      string
		got, want any
	}{
		{"EventBus.Type", lookup(tmpl.raw, "Resources", "EventBus", "Type"), "AWS::Events::EventBus"},
		{"EventBus.Name", lookup(tmpl.raw, "Resources", "EventBus", "Properties", "Name"), map[string]any{"Fn::Sub": "clientele-${AWS::StackName}"}},
		{"Alarm.Type", lookup(tmpl.raw, "Resources", "EventsFailuresAlarm", "Type"), "AWS::CloudWatch::Alarm"},
		{"Alarm.Namespace", lookup(tmpl.raw, "Resources", "EventsFailuresAlarm", "Properties", "Namespace"), "AWS/SQS"},
		{"Alarm.MetricName", lookup(tmpl.raw, "Resources", "EventsFailuresAlarm", "Properties", "MetricName"), "ApproximateNumberOfMessagesVisible"},
		{"Alarm.Dimensions", lookup(tmpl.raw, "Resources", "EventsFailuresAlarm", "Properties", "Dimensions"),
			[]any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": "EventsFailures.QueueName"}}}},
		{"Alarm.Threshold", lookup(tmpl.raw, "Resources", "EventsFailuresAlarm", "Properties", "Threshold"), float64(0)},
		{"Alarm.ComparisonOperator", lookup(tmpl.raw, "Resources", "EventsFailuresAlarm", "Properties", "ComparisonOperator"), "GreaterThanThreshold"},
		{"Alarm.TreatMissingData", lookup(tmpl.raw, "Resources", "EventsFailuresAlarm", "Properties", "TreatMissingData"), "notBreaching"},
		{"Output", lookup(tmpl.raw, "Outputs", "EventBusName", "Value"), map[string]any{"Ref": "EventBus"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// TestMailFeedback: every email goes through the configuration set, whose
// events reach the default bus; the feedback function's rule takes this
// set's delivery, bounce, complaint and reject events, retries for a day
// and keeps what it could not deliver; alarms watch the account's
// reputation below SES's review thresholds.
func TestMailFeedback(t *testing.T) {
	tmpl, _ := load(t)
	res := func(path ...string) any { return lookup(tmpl.raw, append([]string{"Resources"}, path...)...) }
	rule := res("MailFeedbackFunction", "Properties", "Events", "SesFeedback")
	var dlqStatement any
	if stmts, _ := res("MailFeedbackFailuresPolicy", "Properties", "PolicyDocument", "Statement").([]any); len(stmts) == 1 {
		dlqStatement = stmts[0]
	}
	type check struct {
		name      string
		got, want any
	}
	checks := []check{
		{"ConfigurationSet.Type", res("MailConfigurationSet", "Type"), "AWS::SES::ConfigurationSet"},
		{"ConfigurationSet.Name", res("MailConfigurationSet", "Properties", "Name"), map[string]any{"Fn::Sub": "clientele-${AWS::StackName}"}},
		{"Destination.ConfigurationSetName", res("MailEventDestination", "Properties", "ConfigurationSetName"), map[string]any{"Ref": "MailConfigurationSet"}},
		{"Destination.Enabled", res("MailEventDestination", "Properties", "EventDestination", "Enabled"), true},
		{"Destination.MatchingEventTypes", res("MailEventDestination", "Properties", "EventDestination", "MatchingEventTypes"), []any{"DELIVERY", "BOUNCE", "COMPLAINT", "REJECT"}},
		{"Destination.EventBusArn", res("MailEventDestination", "Properties", "EventDestination", "EventBridgeDestination", "EventBusArn"),
			map[string]any{"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"}},
		{"Rule.Type", lookup(rule, "Type"), "EventBridgeRule"},
		{"Rule.Pattern", lookup(rule, "Properties", "Pattern"), map[string]any{
			"source":      []any{"aws.ses"},
			"detail-type": []any{"Email Delivered", "Email Bounced", "Email Complaint Received", "Email Rejected"},
			"detail":      map[string]any{"mail": map[string]any{"tags": map[string]any{"ses:configuration-set": []any{map[string]any{"Ref": "MailConfigurationSet"}}}}}}},
		{"Rule.RetryPolicy", lookup(rule, "Properties", "RetryPolicy"), map[string]any{"MaximumRetryAttempts": float64(10), "MaximumEventAgeInSeconds": float64(86400)}},
		{"Rule.DeadLetterConfig", lookup(rule, "Properties", "DeadLetterConfig"), map[string]any{"Arn": map[string]any{"Fn::GetAtt": "MailFeedbackFailures.Arn"}}},
		{"DLQ policy principal", lookup(dlqStatement, "Principal"), map[string]any{"Service": "events.amazonaws.com"}},
		{"DLQ policy source", lookup(dlqStatement, "Condition"),
			map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": map[string]any{"Fn::GetAtt": "MailFeedbackFunctionSesFeedback.Arn"}}}},
		{"DLQ alarm queue", res("MailFeedbackFailuresAlarm", "Properties", "Dimensions"),
			[]any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": "MailFeedbackFailures.QueueName"}}}},
	}
	for _, a := range []struct {
		id, metric string
		threshold  float64
	}{{"BounceRateAlarm", "Reputation.BounceRate", 0.025}, {"ComplaintRateAlarm", "Reputation.ComplaintRate", 0.0005}} {
		checks = append(checks,
			check{a.id + ".Metric", res(a.id, "Properties", "MetricName"), a.metric},
			check{a.id + ".Namespace", res(a.id, "Properties", "Namespace"), "AWS/SES"},
			check{a.id + ".Threshold", res(a.id, "Properties", "Threshold"), a.threshold},
			check{a.id + ".ComparisonOperator", res(a.id, "Properties", "ComparisonOperator"), "GreaterThanThreshold"})
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}
