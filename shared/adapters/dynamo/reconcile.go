package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// Stranded lists the messages in flight that were due by a time, from
// the by-pending index's shards (never the table).
func (s *Store) Stranded(ctx context.Context, before time.Time) ([]*message.Record, error) {
	var all []*message.Record
	for _, shard := range PendingShards() {
		recs, _, err := queryAll[message.Record](ctx, s.db, &dynamodb.QueryInput{
			TableName: &s.tables.Messages, IndexName: aws.String("by-pending"),
			KeyConditionExpression:    aws.String("pending = :p AND due_at <= :before"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(shard), ":before": ts(before)},
		})
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
	}
	return all, nil
}

// Requeued records that a message in flight went back on the send queue
// (by the reconciler, sweep; or on purpose): it is due again from now. A
// message that moved on since it was read gives domain.ErrConflict.
func (s *Store) Requeued(ctx context.Context, rec *message.Record, now time.Time, sweep bool) error {
	set := "SET due_at = :now, updated_at = :now"
	vals := map[string]types.AttributeValue{":now": ts(now), ":st": str(string(rec.Status))}
	if sweep {
		set += ", sweeps = if_not_exists(sweeps, :zero) + :one"
		vals[":zero"], vals[":one"] = num(0), num(1)
	}
	return s.conditionalUpdate(ctx, rec.Key, set, "#st = :st AND attribute_exists(pending)", vals)
}

// RetryAmbiguous turns an ambiguous email whose provider never reported it
// into one to retry, unless the provider's word arrived meanwhile.
func (s *Store) RetryAmbiguous(ctx context.Context, key message.Key, now time.Time, reason string) error {
	return s.conditionalUpdate(ctx, key, "SET #st = :retry, reason = :why, updated_at = :now, pending = :pending, due_at = :now REMOVE recheck_at",
		"#st = :st AND attribute_not_exists(taken_at)", map[string]types.AttributeValue{":retry": str(string(message.Retry)), ":why": str(reason),
			":now": ts(now), ":st": str(string(message.Ambiguous)), ":pending": str(pendingShard(key))})
}

// GiveUp records a stranded message as failed for good, unless it moved on
// since it was read.
func (s *Store) GiveUp(ctx context.Context, rec *message.Record, now time.Time, reason string) error {
	return s.conditionalUpdate(ctx, rec.Key, "SET #st = :failed, reason = :why, updated_at = :now REMOVE pending, due_at, lease_until, recheck_at",
		"#st = :st", map[string]types.AttributeValue{":failed": str(string(message.Failed)), ":why": str(reason),
			":now": ts(now), ":st": str(string(rec.Status))})
}

func (s *Store) conditionalUpdate(ctx context.Context, key message.Key, set, cond string, vals map[string]types.AttributeValue) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Messages, Key: messageKey(key),
		UpdateExpression:          aws.String(set),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("message %s moved on: %w", key, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update message %s: %w", key, err)
	}
	return nil
}

// CampaignProgress counts a campaign's messages by status and channel,
// through the by-campaign index.
func (s *Store) CampaignProgress(ctx context.Context, id string) (campaign.Tally, error) {
	out := campaign.Tally{Messages: map[message.Status]map[string]int{}}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Messages, IndexName: aws.String("by-campaign"),
		KeyConditionExpression:    aws.String("campaign = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(id)},
		ProjectionExpression:      aws.String("#st, channel, recheck_at"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return campaign.Tally{}, fmt.Errorf("progress of campaign %s: %w", id, err)
		}
		var rows []struct {
			Status    message.Status `dynamodbav:"status"`
			Channel   string         `dynamodbav:"channel"`
			RecheckAt string         `dynamodbav:"recheck_at"`
		}
		if err := unmarshalList(page.Items, &rows); err != nil {
			return campaign.Tally{}, fmt.Errorf("decode progress of campaign %s: %w", id, err)
		}
		for _, r := range rows {
			if out.Messages[r.Status] == nil {
				out.Messages[r.Status] = map[string]int{}
			}
			ch := r.Channel
			if ch == "" {
				ch = "-"
			}
			out.Messages[r.Status][ch]++
			if r.Status == message.Ambiguous && r.RecheckAt != "" {
				out.Rechecking++
			}
		}
	}
	return out, nil
}
