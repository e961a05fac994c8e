package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// CustomersDue reads the customers whose next due date is day (YYYY-MM-DD),
// through the by-next-due index, and says how many items it read.
func (s *Store) CustomersDue(ctx context.Context, day string) ([]*customer.Customer, int, error) {
	return queryAll[customer.Customer](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Customers, IndexName: aws.String("by-next-due"),
		KeyConditionExpression:    aws.String("next_due = :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(day)},
	})
}

// CustomersBornOn reads the customers whose birthday is md (MM-DD), through
// the by-birthday index, and says how many items it read.
func (s *Store) CustomersBornOn(ctx context.Context, md string) ([]*customer.Customer, int, error) {
	return queryAll[customer.Customer](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Customers, IndexName: aws.String("by-birthday"),
		KeyConditionExpression:    aws.String("birthday_md = :md"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":md": str(md)},
	})
}

// MessagesSince lists a customer's messages created since a time. The key
// range is widened by legacySlack for items stored before times had one form,
// and what it reads is filtered by instant.
func (s *Store) MessagesSince(ctx context.Context, customerID string, since time.Time) ([]*message.Record, error) {
	recs, _, err := queryAll[message.Record](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Messages, IndexName: aws.String("by-customer"),
		KeyConditionExpression:    aws.String("customer_id = :c AND created_at >= :since"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID), ":since": ts(since.Add(-legacySlack))},
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(recs, func(r *message.Record) bool { return r.CreatedAt.Before(since) }), nil
}

// DeferredIn lists the messages deferred to a release slot (a UTC hour, see message.ReleaseSlotOf).
func (s *Store) DeferredIn(ctx context.Context, slot string) ([]*message.Record, error) {
	recs, _, err := queryAll[message.Record](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Messages, IndexName: aws.String("by-release"),
		KeyConditionExpression:    aws.String("release_slot = :s"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(slot)},
	})
	return recs, err
}

// CreateMessage records a message decided on (queued or suppressed) unless its
// key exists: a second run of the same day finds it and creates nothing.
func (s *Store) CreateMessage(ctx context.Context, r message.Record) (created bool, err error) {
	item, err := messageItem(r)
	if err != nil {
		return false, err
	}
	// The decision and its count in the month's report, together: a second
	// run creates neither.
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append([]types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Messages, Item: item, ConditionExpression: aws.String("attribute_not_exists(message_key)")}},
	}, s.countDecision(r)...)})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && failedCheck(cancelled.CancellationReasons, 0) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create message %s: %w", r.Key, err)
	}
	return true, nil
}

// queryAll runs a query to its last page and counts the items it read.
func queryAll[T any](ctx context.Context, db *dynamodb.Client, in *dynamodb.QueryInput) ([]*T, int, error) {
	var out []*T
	read := 0
	p := dynamodb.NewQueryPaginator(db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, read, fmt.Errorf("query %s/%s: %w", aws.ToString(in.TableName), aws.ToString(in.IndexName), err)
		}
		read += int(page.ScannedCount)
		for _, item := range page.Items {
			v := new(T)
			if err := unmarshal(item, v); err != nil {
				return nil, read, fmt.Errorf("decode %s item: %w", aws.ToString(in.TableName), err)
			}
			out = append(out, v)
		}
	}
	return out, read, nil
}

// PutCustomers writes new customers in batches of 25 (bulk loads: generated
// ledgers, first imports). It does not check versions: use it on empty tables.
func (s *Store) PutCustomers(ctx context.Context, cs []*customer.Customer) error {
	var reqs, tags []types.WriteRequest
	for _, c := range cs {
		next := *c
		next.Version = c.Version + 1
		item, err := marshal(&next)
		if err != nil {
			return fmt.Errorf("encode customer %s: %w", c.ID, err)
		}
		if _, ok := item[capSendsAttr]; !ok {
			// New: none of their messages predate the record (see customerUpdate).
			item[capSendsAttr] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		for _, t := range c.Tags {
			tags = append(tags, types.WriteRequest{PutRequest: &types.PutRequest{Item: tagKey(t, c.ID)}})
		}
	}
	if err := s.batchWrite(ctx, s.tables.Customers, reqs); err != nil {
		return fmt.Errorf("put customers: %w", err)
	}
	if err := s.batchWrite(ctx, s.tables.Tags, tags); err != nil {
		return fmt.Errorf("index the customers' tags: %w", err)
	}
	return nil
}

// CustomersOfRank reads the customers of a rank (e.g. "royal" or
// "royal:lapsed") through the by-rank index, and says how many items it read.
func (s *Store) CustomersOfRank(ctx context.Context, rank string) ([]*customer.Customer, int, error) {
	return queryAll[customer.Customer](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Customers, IndexName: aws.String("by-rank"),
		KeyConditionExpression:    aws.String("#r = :r"),
		ExpressionAttributeNames:  map[string]string{"#r": "rank"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": str(rank)},
	})
}
