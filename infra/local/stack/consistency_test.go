package stack

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestCheckProfilesAndCustomizations: the checker reports a profile whose
// userCount is off, a user on a missing profile, a customization with an
// unknown action, and a list copy whose customizations differ from its
// user's (the customizedPermissions flag a list would show wrongly).
func TestCheckProfilesAndCustomizations(t *testing.T) {
	st := start(t)
	ctx := context.Background()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	projects := func(perms string) types.AttributeValue {
		entry := map[string]types.AttributeValue{"projectId": s("PR1"), "ratePerHour": &types.AttributeValueMemberNULL{Value: true}}
		if perms != "" {
			entry["permissions"] = s(perms)
		}
		return &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: entry}}}
	}
	user := func(pk, sk, typ, id, profile, perms string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": s(pk), "SK": s(sk), "type": s(typ), "id": s(id), "profileId": s(profile),
			"companyId": s("C1"), "emailKey": s(id + "@x.example"), "version": n("1"), "status": s("deactivated"), "projects": projects(perms)}
	}
	items := []map[string]types.AttributeValue{
		{"PK": s("P#demo#PROFILE#PF1"), "SK": s("META"), "type": s("profile"), "id": s("PF1"), "name": s("Team"), "userCount": n("2")},
		{"PK": s("P#demo#PROFNAME#team"), "SK": s("GUARD"), "type": s("profile_name"), "profileId": s("PF1")},
		user("P#demo#U#U1", "META", "user", "U1", "PF1", `{"tasks":["view"]}`),
		user("P#demo#PR#PR1", "U#U1", "project_member", "U1", "PF1", ""), // the copy lost the customization
		user("P#demo#U#U2", "META", "user", "U2", "PF9", `{"tasks":["fly"]}`),
		user("P#demo#PR#PR1", "U#U2", "project_member", "U2", "PF9", `{"tasks":["fly"]}`),
	}
	for _, it := range items {
		if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := st.CheckConsistency(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"profile P#demo#PROFILE#PF1 counts 2 users, 1 are on it",
		"user P#demo#U#U2 is on missing profile PF9",
		`user P#demo#U#U2 has an invalid customization {"tasks":["fly"]} in project PR1`,
		"list copy P#demo#PR#PR1|U#U1 shows customizations map[], the user has map[PR1:{\"tasks\":[\"view\"]}]",
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no %q among:\n%s", want, strings.Join(problems, "\n"))
		}
	}
	if slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "list copy P#demo#PR#PR1|U#U2 shows") }) {
		t.Error("a copy equal to its user is reported")
	}
}
