package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/points"
)

// pointsPuts are the conditional puts of points entries written with the
// customer at version c.Version+1: an entry id written before makes the
// transaction fail, so a retry records nothing twice. The version orders
// the customer's entries (MaxEntriesPerWrite to a write).
func (s *Store) pointsPuts(c *customer.Customer, entries []points.Entry) ([]types.TransactWriteItem, error) {
	if len(entries) > maxEntriesPerWrite {
		return nil, fmt.Errorf("points of customer %s: %d entries in one write; at most %d", c.ID, len(entries), maxEntriesPerWrite)
	}
	var out []types.TransactWriteItem
	for i, e := range entries {
		e.Seq = (c.Version+1)*maxEntriesPerWrite + int64(i)
		item, err := marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode points entry %s of %s: %w", e.ID, e.CustomerID, err)
		}
		out = append(out, types.TransactWriteItem{Put: &types.Put{TableName: &s.tables.Points, Item: item,
			ConditionExpression: aws.String("attribute_not_exists(entry_id)")}})
	}
	return out, nil
}

// CommitPoints writes a customer whose card changed (read at version
// c.Version) and the entries that changed it, all or nothing. A customer
// changed since it was read gives domain.ErrConflict; an entry recorded
// before gives domain.ErrDuplicate. Either way nothing changed.
func (s *Store) CommitPoints(ctx context.Context, c *customer.Customer, entries ...points.Entry) error {
	u, err := s.customerUpdate(c)
	if err != nil {
		return err
	}
	puts, err := s.pointsPuts(c, entries)
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: append([]types.TransactWriteItem{{Update: u}}, puts...),
	})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		if failedCheck(canceled.CancellationReasons, 0) {
			return fmt.Errorf("points of customer %s: %w", c.ID, domain.ErrConflict)
		}
		for i := range entries {
			if failedCheck(canceled.CancellationReasons, i+1) {
				return fmt.Errorf("points entry %s of %s: %w", entries[i].ID, c.ID, domain.ErrDuplicate)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("points of customer %s: %w", c.ID, err)
	}
	c.Version++
	return nil
}

// PointsOf lists a customer's points entries as they were written, oldest first.
func (s *Store) PointsOf(ctx context.Context, customerID string) ([]points.Entry, error) {
	es, _, err := queryAll[points.Entry](ctx, s.db, &dynamodb.QueryInput{
		TableName:                 &s.tables.Points,
		KeyConditionExpression:    aws.String("customer_id = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("points of customer %s: %w", customerID, err)
	}
	out := make([]points.Entry, len(es))
	for i, e := range es {
		out[i] = *e
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// maxEntriesPerWrite bounds the entries of one write (a transaction holds
// 100 items; a customer's lots expire a few at a time).
const maxEntriesPerWrite = 90
