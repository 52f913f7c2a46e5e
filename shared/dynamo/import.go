package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// CompanyIDByName returns the id of the company holding name in the portal
// (case-insensitively), "" when none; one GetItem of the name guard.
func (s *Store) CompanyIDByName(ctx context.Context, pid, name string) (string, error) {
	item, err := s.getItem(ctx, companyNamePK(pid, clientele.NameKey(name)), skGuard)
	if err != nil || item == nil {
		return "", err
	}
	id, _ := item["companyId"].(*types.AttributeValueMemberS)
	if id == nil {
		return "", nil
	}
	return id.Value, nil
}

// UserIDByEmail returns the id of the user holding address email in the
// portal, "" when none; one GetItem of the email guard.
func (s *Store) UserIDByEmail(ctx context.Context, pid, email string) (string, error) {
	item, err := s.getItem(ctx, emailPK(pid, clientele.EmailKey(email)), skGuard)
	if err != nil || item == nil {
		return "", err
	}
	id, _ := item["userId"].(*types.AttributeValueMemberS)
	if id == nil {
		return "", nil
	}
	return id.Value, nil
}
