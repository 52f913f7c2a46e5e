package export

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/shared/dynamo"
)

// Handle is the export worker function's handler: the table's stream
// delivers the INSERT of each export job (the trigger's filter selects
// them; batch size 1), and the worker runs the job. An error makes Lambda
// deliver the record again, up to the trigger's retry limit.
func (w *Worker) Handle(ctx context.Context, ev events.DynamoDBEvent) error {
	for _, rec := range ev.Records {
		img := rec.Change.NewImage
		if rec.EventName != "INSERT" || attr(img, "type") != dynamo.ExportJobType || attr(img, "portalId") == "" || attr(img, "id") == "" {
			continue
		}
		if err := w.Run(ctx, attr(img, "portalId"), attr(img, "id")); err != nil {
			return err
		}
	}
	return nil
}

// attr is a string attribute of a stream image ("" when absent or not a
// string: String() would panic).
func attr(img map[string]events.DynamoDBAttributeValue, name string) string {
	if v, ok := img[name]; ok && v.DataType() == events.DataTypeString {
		return v.String()
	}
	return ""
}
