// Package template reads template.yaml, the single source of the routes,
// functions and table of Clientele, so that the local stack and the tests use
// exactly what is deployed.
//
// A template has two views. The raw view is the YAML with the short-form tags
// (!Ref, !Sub, !GetAtt...) turned into their long form ({"Ref": "X"}) and
// nothing resolved. The typed view is goformation's, built from the raw one;
// goformation resolves intrinsics while parsing, lossily: a Ref to a resource
// or to a parameter without default becomes null, Fn::GetAtt becomes null and
// Fn::Sub drops what it cannot resolve ("${Table.Arn}/index/*" becomes
// "/index/*"). So wherever the intrinsic itself matters (event ApiId, JWT
// issuer/audience, IAM policy resources, environment variables) read the raw
// view.
package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	cfndynamodb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// FileName is the name FindFile looks for.
const FileName = "template.yaml"

// tableID is the logical id of the single DynamoDB table.
const tableID = "Table"

// Route is one HTTP API route declared in template.yaml.
type Route struct {
	Method   string // "GET", upper-case
	Path     string // "/v1/companies/{companyId}"
	Function string // logical id, e.g. "CompaniesFunction"
	Public   bool   // Auth.Authorizer is NONE
}

// Key is the API Gateway v2 routeKey, e.g. "GET /v1/companies/{companyId}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Template is a parsed template.yaml.
type Template struct {
	cfn    *cloudformation.Template // typed, intrinsics resolved (lossy)
	raw    map[string]any           // untyped, intrinsics kept in long form
	routes []Route
}

// parseMu serializes goformation's YAML reading: every call re-registers its
// tag resolvers in a package-level map without a lock, a data race when two
// goroutines load a template at once.
var parseMu sync.Mutex

// Load parses the template at path and checks that its routes are complete.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load template: %w", err)
	}
	parseMu.Lock()
	rawJSON, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	parseMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("load template %s: %w", path, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(rawJSON, &raw); err != nil {
		return nil, fmt.Errorf("load template %s: raw view: %w", path, err)
	}
	stringifyEnv(raw)
	// The typed view is parsed from the raw one (ParseJSON resolves the
	// long-form intrinsics exactly as ParseYAML would) so that it sees the
	// stringified environment too.
	if rawJSON, err = json.Marshal(typedView(raw)); err != nil {
		return nil, fmt.Errorf("load template %s: %w", path, err)
	}
	cfn, err := goformation.ParseJSON(rawJSON)
	if err != nil {
		return nil, fmt.Errorf("load template %s: %w", path, err)
	}
	t := &Template{cfn: cfn, raw: raw}
	if t.routes, err = t.readRoutes(); err != nil {
		return nil, fmt.Errorf("load template %s: %w", path, err)
	}
	return t, nil
}

// untyped are resource types left out of the typed view: goformation
// v7.14.9, the latest, predates properties the template uses
// (ConfigurationSetEventDestination's EventBridgeDestination) and refuses
// them. Nothing reads them typed; the raw view keeps them.
var untyped = map[string]bool{"AWS::SES::ConfigurationSetEventDestination": true}

// typedView is raw without the untyped resources (raw is not changed).
func typedView(raw map[string]any) map[string]any {
	res, _ := raw["Resources"].(map[string]any)
	kept := make(map[string]any, len(res))
	for id, r := range res {
		if typ, _ := r.(map[string]any)["Type"].(string); !untyped[typ] {
			kept[id] = r
		}
	}
	view := make(map[string]any, len(raw))
	for k, v := range raw {
		view[k] = v
	}
	view["Resources"] = kept
	return view
}

// stringifyEnv turns number and bool environment values into strings, as
// CloudFormation does: goformation types Variables as map[string]string and
// would reject the whole template over an unquoted `PAGE_SIZE: 50`.
func stringifyEnv(raw map[string]any) {
	envs := []any{lookup(raw, "Globals", "Function", "Environment", "Variables")}
	resources, _ := raw["Resources"].(map[string]any)
	for id := range resources {
		envs = append(envs, lookup(resources, id, "Properties", "Environment", "Variables"))
	}
	for _, env := range envs {
		vars, _ := env.(map[string]any)
		for name, v := range vars {
			switch v := v.(type) {
			case float64:
				vars[name] = strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				vars[name] = strconv.FormatBool(v)
			}
		}
	}
}

// FindFile walks up from the working directory to the first directory that
// holds template.yaml and returns that file's path.
func FindFile() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", FileName, err)
	}
	for {
		p := filepath.Join(dir, FileName)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find %s: not found in the working directory or any parent", FileName)
		}
		dir = parent
	}
}

// Routes returns every HttpApi event of every function, sorted by Key.
func (t *Template) Routes() []Route { return slices.Clone(t.routes) }

// Functions returns the logical ids of the AWS::Serverless::Function
// resources, sorted.
func (t *Template) Functions() []string {
	var ids []string
	for id := range t.cfn.GetAllServerlessFunctionResources() {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// readRoutes collects the HttpApi events. Method and Path come from the typed
// view (plain strings); an event without them (a catch-all) is an error, as
// the local gateway could not route it.
func (t *Template) readRoutes() ([]Route, error) {
	var routes []Route
	seen := map[string]string{}
	for id, fn := range t.cfn.GetAllServerlessFunctionResources() {
		for name, ev := range fn.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			p := ev.Properties
			if p == nil || p.HttpApiEvent == nil || p.HttpApiEvent.Method == nil || p.HttpApiEvent.Path == nil {
				// goformation also leaves HttpApiEvent nil when the event has a
				// property it does not know.
				return nil, fmt.Errorf("%s event %s: HttpApi event needs Method and Path, and only known properties", id, name)
			}
			e := p.HttpApiEvent
			r := Route{
				Method:   strings.ToUpper(*e.Method),
				Path:     *e.Path,
				Function: id,
				Public:   e.Auth != nil && e.Auth.Authorizer != nil && *e.Auth.Authorizer == "NONE",
			}
			if prev, dup := seen[r.Key()]; dup {
				return nil, fmt.Errorf("route %s declared by both %s and %s", r.Key(), prev, id)
			}
			seen[r.Key()] = id
			routes = append(routes, r)
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].Key() < routes[j].Key() })
	return routes, nil
}

// EnvVars returns the environment variables function gets: Globals.Function's
// merged with the function's own (which win). Values are the literal string,
// or "" when the value is an intrinsic (only the names can be relied on).
func (t *Template) EnvVars(function string) map[string]string {
	vars := map[string]string{}
	for _, v := range []any{
		lookup(t.raw, "Globals", "Function", "Environment", "Variables"),
		lookup(t.raw, "Resources", function, "Properties", "Environment", "Variables"),
	} {
		m, _ := v.(map[string]any)
		for name, val := range m {
			vars[name], _ = val.(string) // "" for an intrinsic
		}
	}
	return vars
}

// CreateTableInput builds the CreateTable request of the Table resource, so the
// local emulator creates the very table the template deploys, its stream
// included. TTL, PITR, encryption and deletion protection are not part of
// CreateTable (or not emulated) and are left out.
func (t *Template) CreateTableInput(tableName string) (*dynamodb.CreateTableInput, error) {
	tbl, err := t.cfn.GetDynamoDBTableWithName(tableID)
	if err != nil {
		return nil, fmt.Errorf("create table input: %w", err)
	}
	if mode := aws.ToString(tbl.BillingMode); mode != string(ddbtypes.BillingModePayPerRequest) {
		return nil, fmt.Errorf("create table input: BillingMode %q: only PAY_PER_REQUEST is supported", mode)
	}
	if len(tbl.KeySchema) == 0 {
		return nil, errors.New("create table input: Table has no KeySchema")
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(tableName),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:   keySchema(tbl.KeySchema),
	}
	if ss := tbl.StreamSpecification; ss != nil {
		in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(ss.StreamViewType)}
	}
	for _, a := range tbl.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range tbl.GlobalSecondaryIndexes {
		if g.Projection == nil || g.Projection.ProjectionType == nil {
			return nil, fmt.Errorf("create table input: index %s has no ProjectionType", g.IndexName)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName: aws.String(g.IndexName),
			KeySchema: keySchema(g.KeySchema),
			Projection: &ddbtypes.Projection{
				ProjectionType:   ddbtypes.ProjectionType(*g.Projection.ProjectionType),
				NonKeyAttributes: g.Projection.NonKeyAttributes,
			},
		})
	}
	return in, nil
}

// EventSourceMapping is an AWS::Lambda::EventSourceMapping of the template,
// with Lambda's defaults where the template leaves a property out.
type EventSourceMapping struct {
	ID                             string // logical id
	Source                         string // logical id of the table whose stream it reads (EventSourceArn: !GetAtt X.StreamArn)
	Enabled                        bool
	StartingPosition               string // LATEST or TRIM_HORIZON
	BatchSize                      int    // 100 when left out
	MaximumRetryAttempts           int    // -1 (the default): until the record expires
	MaximumRecordAgeInSeconds      int    // -1 (the default): no limit
	BisectBatchOnFunctionError     bool
	MaximumBatchingWindowInSeconds int
	TumblingWindowInSeconds        int
	FunctionResponseTypes          []string
	Filters                        []string // FilterCriteria patterns (JSON), ORed; none passes every record
	OnFailure                      string   // logical id of DestinationConfig.OnFailure's resource; "" for none
}

// EventSourceMapping returns the one event source mapping that invokes
// function. FunctionName, EventSourceArn and the destination are intrinsics,
// read from the raw view; the rest from the typed one.
func (t *Template) EventSourceMapping(function string) (EventSourceMapping, error) {
	var ids []string
	resources, _ := t.raw["Resources"].(map[string]any)
	for id, res := range resources {
		if lookup(res, "Type") == "AWS::Lambda::EventSourceMapping" && refName(lookup(res, "Properties", "FunctionName")) == function {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		return EventSourceMapping{}, fmt.Errorf("event source mapping of %s: the template declares %d, want one", function, len(ids))
	}
	id := ids[0]
	m, err := t.cfn.GetLambdaEventSourceMappingWithName(id)
	if err != nil {
		return EventSourceMapping{}, fmt.Errorf("event source mapping %s: %w", id, err)
	}
	intOr := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	esm := EventSourceMapping{
		ID:                             id,
		Source:                         refName(lookup(resources, id, "Properties", "EventSourceArn")),
		Enabled:                        m.Enabled == nil || *m.Enabled,
		StartingPosition:               aws.ToString(m.StartingPosition),
		BatchSize:                      intOr(m.BatchSize, 100),
		MaximumRetryAttempts:           intOr(m.MaximumRetryAttempts, -1),
		MaximumRecordAgeInSeconds:      intOr(m.MaximumRecordAgeInSeconds, -1),
		BisectBatchOnFunctionError:     aws.ToBool(m.BisectBatchOnFunctionError),
		MaximumBatchingWindowInSeconds: intOr(m.MaximumBatchingWindowInSeconds, 0),
		TumblingWindowInSeconds:        intOr(m.TumblingWindowInSeconds, 0),
		FunctionResponseTypes:          m.FunctionResponseTypes,
		OnFailure:                      refName(lookup(resources, id, "Properties", "DestinationConfig", "OnFailure", "Destination")),
	}
	if m.FilterCriteria != nil {
		for i, f := range m.FilterCriteria.Filters {
			if f.Pattern == nil {
				return EventSourceMapping{}, fmt.Errorf("event source mapping %s: filter %d has no Pattern", id, i)
			}
			esm.Filters = append(esm.Filters, *f.Pattern)
		}
	}
	return esm, nil
}

// refName is the logical id an intrinsic names: X of {"Ref": "X"},
// {"Fn::GetAtt": "X.Attr"} or {"Fn::GetAtt": ["X", "Attr"]}; "" otherwise.
func refName(v any) string {
	m, _ := v.(map[string]any)
	if ref, ok := m["Ref"].(string); ok {
		return ref
	}
	switch att := m["Fn::GetAtt"].(type) {
	case string:
		name, _, _ := strings.Cut(att, ".")
		return name
	case []any:
		if len(att) > 0 {
			name, _ := att[0].(string)
			return name
		}
	}
	return ""
}

func keySchema(ks []cfndynamodb.Table_KeySchema) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, ddbtypes.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName),
			KeyType:       ddbtypes.KeyType(k.KeyType),
		})
	}
	return out
}

// lookup walks nested maps of the raw view; nil when a key is missing.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
