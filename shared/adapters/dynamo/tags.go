package dynamo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// SetTags keeps the tag index in step with a customer whose tags went from
// old to now: an item per tag carried, none for a tag dropped.
func (s *Store) SetTags(ctx context.Context, customerID string, old, now []string) error {
	var reqs []types.WriteRequest
	for _, t := range now {
		if !slices.Contains(old, t) {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: tagKey(t, customerID)}})
		}
	}
	for _, t := range old {
		if !slices.Contains(now, t) {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: tagKey(t, customerID)}})
		}
	}
	if err := s.batchWrite(ctx, s.tables.Tags, reqs); err != nil {
		return fmt.Errorf("index the tags of customer %s: %w", customerID, err)
	}
	return nil
}

func tagKey(tag, customerID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"tag": str(tag), "customer_id": str(customerID)}
}

// batchWriters is how many BatchWriteItem requests a bulk load keeps in
// flight: a round trip each, so they overlap.
const batchWriters = 8

// batchWrite writes requests 25 at a time on parallel writers, again for
// any left unprocessed.
func (s *Store) batchWrite(ctx context.Context, table string, reqs []types.WriteRequest) error {
	var g errgroup.Group
	g.SetLimit(batchWriters)
	for start := 0; start < len(reqs); start += 25 {
		chunk := reqs[start:min(start+25, len(reqs))]
		g.Go(func() error {
			pending := map[string][]types.WriteRequest{table: chunk}
			for attempt := 0; len(pending) > 0; attempt++ {
				if attempt == 10 {
					return fmt.Errorf("%d items unprocessed after 10 attempts", len(pending[table]))
				}
				if attempt > 0 {
					time.Sleep(time.Duration(attempt*attempt) * 10 * time.Millisecond) // DynamoDB's advice: back off on unprocessed items
				}
				out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
				if err != nil {
					return err
				}
				pending = out.UnprocessedItems
			}
			return nil
		})
	}
	return g.Wait()
}

// CustomersTagged reads the customers who carry any of tags, through the
// tag index and by key (never a Scan), and says how many items it read. A
// customer whose tags changed since the index was written is checked
// against what they carry now.
func (s *Store) CustomersTagged(ctx context.Context, tags []string) ([]*customer.Customer, int, error) {
	read := 0
	var ids []string
	for _, t := range tags {
		items, n, err := queryAll[struct {
			ID string `dynamodbav:"customer_id"`
		}](ctx, s.db, &dynamodb.QueryInput{TableName: &s.tables.Tags, KeyConditionExpression: aws.String("tag = :t"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(t)}})
		if err != nil {
			return nil, read, fmt.Errorf("customers tagged %s: %w", t, err)
		}
		read += n
		for _, it := range items {
			ids = append(ids, it.ID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	cs, n, err := s.customersByID(ctx, ids)
	read += n
	if err != nil {
		return nil, read, fmt.Errorf("read tagged customers: %w", err)
	}
	var out []*customer.Customer
	for _, c := range cs {
		if slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(c.Tags, t) }) {
			out = append(out, c)
		}
	}
	return out, read, nil
}
