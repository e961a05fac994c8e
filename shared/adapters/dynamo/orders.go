package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/attribution"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/points"
)

// CommitOrder records an order, the customer as it stands after it (read at
// version c.Version), the queued thank-you and the order's points entries
// (its redemption and what it earned), all or nothing. An order id seen
// before gives domain.ErrDuplicate and changes nothing; a customer changed since
// it was read gives domain.ErrConflict: the customer's version is the
// condition that keeps two orders from spending the same points.
func (s *Store) CommitOrder(ctx context.Context, o customer.Order, c *customer.Customer, thanks message.Record, attr attribution.Attribution,
	entries ...points.Entry) error {
	orderItem, err := marshal(o)
	if err != nil {
		return fmt.Errorf("encode order %s: %w", o.ID, err)
	}
	touched, err := marshal(attr)
	if err != nil {
		return fmt.Errorf("encode attribution of order %s: %w", o.ID, err)
	}
	orderItem["attribution"] = &types.AttributeValueMemberM{Value: touched}
	custWrites, err := s.customerWrites(c)
	if err != nil {
		return err
	}
	msgItem, err := messageItem(thanks)
	if err != nil {
		return err
	}
	puts, err := s.pointsPuts(c, entries)
	if err != nil {
		return err
	}
	// Points entries right after the first three (the cancellation reasons
	// below find them there), then the consent records and the counts.
	items := append([]types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Orders, Item: orderItem, ConditionExpression: aws.String("attribute_not_exists(order_id)")}},
		custWrites[0],
		{Put: &types.Put{TableName: &s.tables.Messages, Item: msgItem, ConditionExpression: aws.String("attribute_not_exists(message_key)")}},
	}, puts...)
	items = append(items, custWrites[1:]...)
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append(items, s.countDecision(thanks)...)})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		reasons := canceled.CancellationReasons
		entryWritten := false
		for i := range puts {
			entryWritten = entryWritten || failedCheck(reasons, 3+i)
		}
		switch {
		case failedCheck(reasons, 0), failedCheck(reasons, 2), entryWritten:
			return fmt.Errorf("record order %s: %w", o.ID, domain.ErrDuplicate)
		case failedCheck(reasons, 1):
			return fmt.Errorf("record order %s: %w", o.ID, domain.ErrConflict)
		}
	}
	if err != nil {
		return fmt.Errorf("record order %s: %w", o.ID, err)
	}
	c.Version++
	consentWritten(c)
	return nil
}

func failedCheck(reasons []types.CancellationReason, i int) bool {
	return i < len(reasons) && aws.ToString(reasons[i].Code) == "ConditionalCheckFailed"
}

// Order reads one order.
func (s *Store) Order(ctx context.Context, id string) (*customer.Order, error) {
	return get[customer.Order](ctx, s.db, s.tables.Orders, "order_id", id, "order")
}

// AttributionOf reads what an order owes to the messages before it.
func (s *Store) AttributionOf(ctx context.Context, orderID string) (attribution.Attribution, error) {
	rec, err := get[struct {
		Attribution attribution.Attribution `dynamodbav:"attribution"`
	}](ctx, s.db, s.tables.Orders, "order_id", orderID, "order")
	if err != nil {
		return attribution.Attribution{}, err
	}
	return rec.Attribution, nil
}

// LatestOrder is a customer's newest order, or nil when they have none:
// one item read through the by-customer index.
func (s *Store) LatestOrder(ctx context.Context, customerID string) (*customer.Order, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.tables.Orders, IndexName: aws.String("by-customer"),
		KeyConditionExpression:    aws.String("customer_id = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(1),
	})
	if err != nil {
		return nil, fmt.Errorf("latest order of %s: %w", customerID, err)
	}
	if len(out.Items) == 0 {
		return nil, nil
	}
	var o customer.Order
	if err := unmarshal(out.Items[0], &o); err != nil {
		return nil, fmt.Errorf("decode latest order of %s: %w", customerID, err)
	}
	return &o, nil
}

// OrdersOf lists a customer's orders, newest first, through the by-customer index.
func (s *Store) OrdersOf(ctx context.Context, customerID string) ([]*customer.Order, error) {
	os, _, err := queryAll[customer.Order](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Orders, IndexName: aws.String("by-customer"),
		KeyConditionExpression:    aws.String("customer_id = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)},
		ScanIndexForward:          aws.Bool(false),
	})
	return os, err
}
