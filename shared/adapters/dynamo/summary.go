package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The monthly summary email's marker: one item per month beside the report
// counters, in a partition no month's report reads ("#…", as the counted
// markers). Its state says where the email stands.
const (
	summaryPartition = "#sent summary"
	summarySending   = "sending"
	summarySent      = "sent"
	// summaryAmbiguous: the send timed out after the request went out; the
	// owner may have it, so it is not sent again.
	summaryAmbiguous = "ambiguous"
)

func summaryKey(month string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"month": str(summaryPartition), "row": str(month)}
}

// ClaimSummary claims the month's summary email for the caller, who may then
// send it: only if nobody claimed it, or a claim made before takeOverBefore
// is still "sending" (its run died before it could say how the send went).
// It says whether the caller got the claim.
func (s *Store) ClaimSummary(ctx context.Context, month string, at, takeOverBefore time.Time) (bool, error) {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.tables.Reports,
		Item: map[string]types.AttributeValue{"month": str(summaryPartition), "row": str(month),
			"state": str(summarySending), "claimed_at": ts(at)},
		ConditionExpression:      aws.String("attribute_not_exists(#m) OR (#st = :sending AND claimed_at < :stale)"),
		ExpressionAttributeNames: map[string]string{"#m": "month", "#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sending": str(summarySending),
			":stale": ts(takeOverBefore)},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim the %s summary: %w", month, err)
	}
	return true, nil
}

// SummarySent records that the month's summary went out (or may have:
// ambiguous), so no later run sends it again.
func (s *Store) SummarySent(ctx context.Context, month string, at time.Time, ambiguous bool) error {
	state := summarySent
	if ambiguous {
		state = summaryAmbiguous
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Reports, Key: summaryKey(month),
		UpdateExpression:          aws.String("SET #st = :st, sent_at = :at"),
		ExpressionAttributeNames:  map[string]string{"#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":st": str(state), ":at": ts(at)},
	})
	if err != nil {
		return fmt.Errorf("mark the %s summary %s: %w", month, state, err)
	}
	return nil
}

// ReleaseSummary gives back a claim whose email certainly did not go (the
// provider refused it), so the schedule's retry may send it. A claim taken
// over meanwhile is not the caller's, and is left alone.
func (s *Store) ReleaseSummary(ctx context.Context, month string, claimedAt time.Time) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.tables.Reports, Key: summaryKey(month),
		ConditionExpression:       aws.String("#st = :sending AND claimed_at = :at"),
		ExpressionAttributeNames:  map[string]string{"#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sending": str(summarySending), ":at": ts(claimedAt)},
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("release the %s summary: %w", month, err)
	}
	return nil
}
