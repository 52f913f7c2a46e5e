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
	problems := putAndCheck(t, st, items...)
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

// TestCheckSignupLinks: the checker reports a link without its token's
// lookup item, a lookup item left by a replaced link, and a link of a
// company that is gone.
func TestCheckSignupLinks(t *testing.T) {
	st := start(t)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	link := func(cid, id, hash string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": s("P#demo#C#" + cid), "SK": s("SIGNUP"), "type": s("signup_link"), "id": s(id),
			"companyId": s(cid), "tokenHash": s(hash)}
	}
	token := func(cid, id, hash string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": s("P#demo#SIGNUP#" + hash), "SK": s("META"), "type": s("signup_token"), "id": s(id), "companyId": s(cid)}
	}
	company := func(cid string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": s("P#demo#C#" + cid), "SK": s("META"), "type": s("company"), "id": s(cid), "name": s(cid), "nameKey": s(cid)}
	}
	problems := putAndCheck(t, st,
		company("C1"), link("C1", "L1", "h1"), token("C1", "L1", "h1"), // whole
		company("C2"), link("C2", "L2", "h2"), // no lookup item
		token("C2", "L0", "h0"),                         // a replaced link's token
		link("C3", "L3", "h3"), token("C3", "L3", "h3"), // no company
	)
	for _, want := range []string{
		"sign-up link P#demo#C#C2 has no lookup item of its token",
		"sign-up token P#demo#SIGNUP#h0 is no company's current link",
		"sign-up link P#demo#C#C3 belongs to no company",
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no %q among:\n%s", want, strings.Join(problems, "\n"))
		}
	}
	if slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "C1") && strings.Contains(p, "sign-up") }) {
		t.Errorf("a whole link is reported:\n%s", strings.Join(problems, "\n"))
	}
}

// putAndCheck writes items into the stack's table and returns what the
// checker finds.
func putAndCheck(t *testing.T, st *Stack, items ...map[string]types.AttributeValue) []string {
	t.Helper()
	ctx := context.Background()
	for _, it := range items {
		if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := st.CheckConsistency(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return problems
}
