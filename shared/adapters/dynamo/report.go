package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
)

// reportPlace is where a message counts: its month and row, kept on the
// message when it is decided, so later counts need not work them out again.
func reportPlace(r message.Record) (month, row string) {
	return report.Month(r.CreatedAt), report.RowOf(&r).Key()
}

// countDecision is the update that counts a new decision in its row: part
// of the transaction that records the message, so it counts once.
func (s *Store) countDecision(r message.Record) *types.Update {
	month, row := reportPlace(r)
	expr := "ADD decided :one"
	if r.Status == message.HeldOut {
		expr += ", held_out :one"
	}
	return &types.Update{TableName: &s.tables.Reports,
		Key:                       map[string]types.AttributeValue{"month": str(month), "row": str(row)},
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)}}
}

// CountOnce adds counters to a message's row the first time event happens
// to it (sent, repurchased): a marker item, written in the same transaction
// and only if absent, says it was counted, so a redelivered event counts
// nothing. (The marker lives beside the counters, not on the message, which
// other flows rewrite whole.)
func (s *Store) CountOnce(ctx context.Context, key message.Key, event string, add map[string]int64) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Messages, Key: messageKey(key),
		ProjectionExpression: aws.String("report_month, report_row")})
	if err != nil {
		return fmt.Errorf("count %s of %s: %w", event, key, err)
	}
	var place struct {
		Month string `dynamodbav:"report_month"`
		Row   string `dynamodbav:"report_row"`
	}
	if err := unmarshal(out.Item, &place); err != nil || place.Month == "" {
		return err // decided before reports were kept: counted nowhere
	}
	expr, vals := "ADD", map[string]types.AttributeValue{}
	sep := " "
	for name, n := range add {
		expr += sep + name + " :" + name
		vals[":"+name] = num(n)
		sep = ", "
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Reports,
			Item:                     map[string]types.AttributeValue{"month": str(countedPrefix + place.Month), "row": str(string(key) + "|" + event)},
			ConditionExpression:      aws.String("attribute_not_exists(#m)"),
			ExpressionAttributeNames: map[string]string{"#m": "month"}}},
		{Update: &types.Update{TableName: &s.tables.Reports,
			Key:              map[string]types.AttributeValue{"month": str(place.Month), "row": str(place.Row)},
			UpdateExpression: aws.String(expr), ExpressionAttributeValues: vals}},
	}})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && conditionFailed(cancelled) {
		return nil // counted before
	}
	if err != nil {
		return fmt.Errorf("count %s of %s: %w", event, key, err)
	}
	return nil
}

// countedPrefix marks the items that say a message's event was counted:
// no month's report reads them.
const countedPrefix = "#counted "

// countMilestones is the update that counts the firsts an event brought a
// message to (opened, clicked…), in the event's own transaction.
func (s *Store) countMilestones(r message.Record, milestones []string) *types.Update {
	month, row := reportPlace(r)
	vals := map[string]types.AttributeValue{":one": num(1)}
	expr, sep := "ADD", " "
	for _, m := range milestones {
		expr += sep + m + " :one"
		sep = ", "
	}
	return &types.Update{TableName: &s.tables.Reports, Key: map[string]types.AttributeValue{"month": str(month), "row": str(row)},
		UpdateExpression: aws.String(expr), ExpressionAttributeValues: vals}
}

// countSent counts a message the provider took, once.
func (s *Store) countSent(ctx context.Context, key message.Key) error {
	return s.CountOnce(ctx, key, "sent", map[string]int64{"sent": 1})
}

// ReportRows reads a month's rows (one query: as many items as rows) and
// says how many items it read.
func (s *Store) ReportRows(ctx context.Context, month string) (map[string]report.Counters, int, error) {
	type item struct {
		Row string `dynamodbav:"row"`
		report.Counters
	}
	items, read, err := queryAll[item](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Reports, KeyConditionExpression: aws.String("#m = :m"),
		ExpressionAttributeNames:  map[string]string{"#m": "month"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":m": str(month)},
	})
	if err != nil {
		return nil, read, err
	}
	out := make(map[string]report.Counters, len(items))
	for _, it := range items {
		out[it.Row] = it.Counters
	}
	return out, read, nil
}
