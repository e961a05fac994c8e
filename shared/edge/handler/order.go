package handler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/flows/orders"
)

// OrderPlaced records the order of an EventBridge "OrderPlaced" event. A
// malformed event is an error (EventBridge retries, then its DLQ keeps it);
// a duplicate is not.
func OrderPlaced(in *orders.Intake) func(ctx context.Context, ev events.EventBridgeEvent) (orders.Result, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (orders.Result, error) {
		if ev.DetailType != "OrderPlaced" {
			return orders.Result{}, fmt.Errorf("event %s: unexpected detail-type %q", ev.ID, ev.DetailType)
		}
		var o customer.Order
		if err := json.Unmarshal(ev.Detail, &o); err != nil {
			return orders.Result{}, fmt.Errorf("event %s: decode order: %w", ev.ID, err)
		}
		return in.RecordOrder(ctx, o)
	}
}
