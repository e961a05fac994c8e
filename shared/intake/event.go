package intake

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/daifuku/daifuku/shared/customer"
)

// HandleEvent records the order of an EventBridge "OrderPlaced" event. A
// malformed event is an error (EventBridge retries, then its DLQ keeps it);
// a duplicate is not.
func (in *Intake) HandleEvent(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	if ev.DetailType != "OrderPlaced" {
		return Result{}, fmt.Errorf("event %s: unexpected detail-type %q", ev.ID, ev.DetailType)
	}
	var o customer.Order
	if err := json.Unmarshal(ev.Detail, &o); err != nil {
		return Result{}, fmt.Errorf("event %s: decode order: %w", ev.ID, err)
	}
	return in.RecordOrder(ctx, o)
}
