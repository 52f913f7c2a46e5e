package dynamo

import (
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// HistoryRecord is a history entry as the table's stream delivers it, with
// the entity it belongs to.
type HistoryRecord struct {
	PortalID   string
	Resource   string // company or user
	ResourceID string
	Entry      clientele.HistoryEntry
}

// HistoryType is the type attribute of history items, which the events
// trigger's filter selects.
const HistoryType = "history"

// resources maps the infix of an entity's partition key to its name.
var resources = map[string]string{"C": "company", "U": "user", "PR": "project"}

// StreamHistory decodes the new image of a stream record: ok is false when
// it is not a history item.
func StreamHistory(img map[string]events.DynamoDBAttributeValue) (HistoryRecord, bool, error) {
	if v, found := img["type"]; !found || v.DataType() != events.DataTypeString || v.String() != HistoryType {
		return HistoryRecord{}, false, nil
	}
	item, err := fromStream(img)
	if err != nil {
		return HistoryRecord{}, false, err
	}
	e, err := historyFromItem(item)
	if err != nil {
		return HistoryRecord{}, false, err
	}
	pk, _ := item["PK"].(*types.AttributeValueMemberS)
	parts := strings.Split(pk.Value, "#") // P#<portal>#<C|U|PR>#<id>
	if len(parts) != 4 || parts[0] != "P" || resources[parts[2]] == "" {
		return HistoryRecord{}, false, fmt.Errorf("history item under an unknown key %q", pk.Value)
	}
	return HistoryRecord{PortalID: parts[1], Resource: resources[parts[2]], ResourceID: parts[3], Entry: e}, true, nil
}

// fromStream turns a stream image (Lambda's JSON form of an item) back into
// the SDK's form, so items decode in one place whichever way they came.
func fromStream(img map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(img))
	for k, v := range img {
		av, err := fromStreamValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func fromStreamValue(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		l := make([]types.AttributeValue, len(v.List()))
		for i, e := range v.List() {
			av, err := fromStreamValue(e)
			if err != nil {
				return nil, err
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case events.DataTypeMap:
		m, err := fromStream(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %v", v.DataType())
}
