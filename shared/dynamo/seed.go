package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// SeedUsers writes users (and their project list copies) with
// BatchWriteItem, 25 items a request, for the export benchmark: 100,000
// users in seconds rather than 100,000 transactions. It writes no guards,
// counters, search entries or history, so it is for throwaway tables only;
// no function calls it (none may use BatchWriteItem).
func (s *Store) SeedUsers(ctx context.Context, pid string, users []clientele.User) error {
	var batch []types.WriteRequest
	flush := func() error {
		for len(batch) > 0 {
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: batch}})
			if err != nil {
				return unavailable(err, "seed users")
			}
			batch = out.UnprocessedItems[s.table]
		}
		return nil
	}
	put := func(item map[string]types.AttributeValue) error {
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			return flush()
		}
		return nil
	}
	for _, u := range users {
		if err := put(userToItem(pid, u)); err != nil {
			return err
		}
		for _, p := range u.Projects {
			if err := put(userCopy(pid, u, projectPK(pid, p.ProjectID), skMember+u.ID, "project_member", projectUsersPK(pid, p.ProjectID), false)); err != nil {
				return err
			}
		}
	}
	return flush()
}
