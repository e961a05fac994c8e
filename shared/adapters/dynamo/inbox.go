package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

// PutBatch stores a webhook batch unless a batch with its id is stored
// already. It reports whether it was new and, if not, the stored status.
func (s *Store) PutBatch(ctx context.Context, b webhook.Batch) (isNew bool, status string, err error) {
	item, err := marshal(b)
	if err != nil {
		return false, "", fmt.Errorf("encode batch %s: %w", b.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.tables.Inbox, Item: item, ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		old, err := s.Batch(ctx, b.ID)
		if err != nil {
			return false, "", err
		}
		return false, old.Status, nil
	}
	if err != nil {
		return false, "", fmt.Errorf("put batch %s: %w", b.ID, err)
	}
	return true, b.Status, nil
}

// Batch reads a stored webhook batch.
func (s *Store) Batch(ctx context.Context, id string) (*webhook.Batch, error) {
	return get[webhook.Batch](ctx, s.db, s.tables.Inbox, "id", id, "batch")
}

// FinishBatch marks a batch processed.
func (s *Store) FinishBatch(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Inbox, Key: map[string]types.AttributeValue{"id": str(id)},
		UpdateExpression:          aws.String("SET #st = :done, done_at = :at"),
		ConditionExpression:       aws.String("attribute_exists(id)"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": str(webhook.Done), ":at": ts(at)},
	})
	if err != nil {
		return fmt.Errorf("finish batch %s: %w", id, err)
	}
	return nil
}

// Seen reports whether an event's marker exists.
func (s *Store) Seen(ctx context.Context, marker string) (bool, error) {
	_, err := get[struct{}](ctx, s.db, s.tables.Inbox, "id", marker, "marker")
	if errors.Is(err, domain.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Apply writes an event's effects. It returns webhook.ErrSeen when the event
// was processed before, and domain.ErrConflict when the customer or the
// message changed since they were read (read again and retry).
func (s *Store) Apply(ctx context.Context, e webhook.Effects) error {
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName: &s.tables.Inbox,
		Item: map[string]types.AttributeValue{
			"id": str(e.Marker), "processed_at": ts(e.At),
			"expires_at": &types.AttributeValueMemberN{Value: strconv.FormatInt(e.At.Add(webhook.Retention).Unix(), 10)},
		},
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	}}}
	var consent []types.TransactWriteItem
	if e.Customer != nil {
		cw, err := s.customerWrites(e.Customer)
		if err != nil {
			return err
		}
		// The consent records go last: the conflict check below reads the
		// customer's update at its place.
		items, consent = append(items, cw[0]), cw[1:]
	}
	if e.Message != nil {
		item, err := messageItem(*e.Message)
		if err != nil {
			return err
		}
		vals := map[string]types.AttributeValue{}
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: &s.tables.Messages, Item: item,
			ConditionExpression:       aws.String(sameTime("updated_at", ":was", e.MessageWas, vals)),
			ExpressionAttributeValues: vals,
		}})
		if len(e.Milestones) > 0 {
			items = append(items, s.countMilestones(*e.Message, e.Milestones)...)
		}
	}
	for _, f := range e.Feedback {
		item, err := marshal(f)
		if err != nil {
			return fmt.Errorf("encode feedback %s: %w", f.ID, err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.tables.Feedback, Item: item}})
	}
	items = append(items, consent...)
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		for i, r := range cancelled.CancellationReasons {
			if aws.ToString(r.Code) != "ConditionalCheckFailed" {
				continue
			}
			if i == 0 {
				return fmt.Errorf("%s: %w", e.Marker, webhook.ErrSeen)
			}
			return fmt.Errorf("apply %s: %w", e.Marker, domain.ErrConflict)
		}
	}
	if err != nil {
		return fmt.Errorf("apply %s: %w", e.Marker, err)
	}
	if e.Customer != nil {
		e.Customer.Version++
		consentWritten(e.Customer)
	}
	if m := e.Message; m != nil && !m.SentAt.IsZero() {
		// An ambiguous email its processed event settled as sent.
		return s.countSent(ctx, m.Key)
	}
	return nil
}
