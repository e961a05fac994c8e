package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
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
// key exists: a second run of the same day finds it and creates nothing. The
// decision's count in the month's report and its change to the customer's
// record of what counts against the cap are written with it, so a second
// run writes neither.
func (s *Store) CreateMessage(ctx context.Context, r message.Record, capped delivery.CapChange) (created bool, err error) {
	item, err := messageItem(r)
	if err != nil {
		return false, err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Messages, Item: item, ConditionExpression: aws.String("attribute_not_exists(message_key)")}},
	}
	if r.Shard == "" {
		// The decision and its count in the month's report, together: a
		// second run creates neither. (A shard counts its decisions once,
		// all together, when it is done: ShardDone.)
		items = append(items, s.countDecision(r)...)
	}
	if !capped.Changes() {
		return s.createMessage(ctx, r.Key, items)
	}
	// The record is written entry by entry where the customer has one; a
	// customer stored before it was kept gets it whole, once. Each form's
	// condition fails when the other one fits: the record appeared or went
	// meanwhile (a bulk load), or the customer is missing.
	whole := false
	for range 3 {
		u, err := s.capUpdate(r.CustomerID, capped, whole)
		if err != nil {
			return false, err
		}
		created, err := s.createMessage(ctx, r.Key, append(items, types.TransactWriteItem{Update: u}))
		if !errors.Is(err, errOtherForm) {
			return created, err
		}
		whole = !whole
	}
	return false, fmt.Errorf("create message %s: customer %s missing, or their record of what counts against the cap keeps changing", r.Key, r.CustomerID)
}

// errOtherForm says a message's transaction was cancelled by its last item,
// the change to the customer's record of what counts against the cap.
var errOtherForm = errors.New("the customer's record of what counts against the cap is not as the write expected")

// createMessage runs a message's transaction: its put first, a change to
// the customer's record last (if any).
func (s *Store) createMessage(ctx context.Context, key message.Key, items []types.TransactWriteItem) (bool, error) {
	if len(items) == 1 { // the message alone: a conditional put, not a transaction
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: items[0].Put.TableName, Item: items[0].Put.Item,
			ConditionExpression: items[0].Put.ConditionExpression})
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("create message %s: %w", key, err)
		}
		return true, nil
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		last := len(items) - 1
		switch {
		case failedCheck(cancelled.CancellationReasons, 0):
			return false, nil
		case last > 0 && items[last].Update != nil && failedCheckOrPath(cancelled.CancellationReasons, last):
			return false, errOtherForm
		}
	}
	if err != nil {
		return false, fmt.Errorf("create message %s: %w", key, err)
	}
	return true, nil
}

// failedCheckOrPath says item i failed its condition, or named a path
// inside a map that is absent (DynamoDB checks the path first).
func failedCheckOrPath(reasons []types.CancellationReason, i int) bool {
	return failedCheck(reasons, i) || i < len(reasons) && aws.ToString(reasons[i].Code) == "ValidationError"
}

// capUpdate is the change to a customer's record of what counts against the
// cap: entry by entry in the record the customer has, or the whole record
// where they have none yet.
func (s *Store) capUpdate(customerID string, capped delivery.CapChange, whole bool) (*types.Update, error) {
	send, err := marshal(capped.Send)
	if err != nil {
		return nil, fmt.Errorf("encode the cap's entry of %s: %w", capped.Key, err)
	}
	names := map[string]string{"#cs": capSendsAttr, "#id": "customer_id"}
	vals := map[string]types.AttributeValue{}
	u := &types.Update{TableName: &s.tables.Customers, Key: map[string]types.AttributeValue{"customer_id": str(customerID)},
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals}
	if whole {
		all := map[string]types.AttributeValue{string(capped.Key): &types.AttributeValueMemberM{Value: send}}
		for k, v := range capped.Keep {
			kept, err := marshal(v)
			if err != nil {
				return nil, fmt.Errorf("encode the cap's entry of %s: %w", k, err)
			}
			all[k] = &types.AttributeValueMemberM{Value: kept}
		}
		vals[":all"] = &types.AttributeValueMemberM{Value: all}
		u.UpdateExpression = aws.String("SET #cs = :all")
		u.ConditionExpression = aws.String("attribute_exists(#id) AND attribute_not_exists(#cs)")
		return u, nil
	}
	names["#k"] = string(capped.Key)
	vals[":send"] = &types.AttributeValueMemberM{Value: send}
	expr := "SET #cs.#k = :send"
	if len(capped.Drop) > 0 {
		var drops []string
		for i, k := range capped.Drop {
			n := fmt.Sprintf("#d%d", i)
			names[n] = k
			drops = append(drops, "#cs."+n)
		}
		expr += " REMOVE " + strings.Join(drops, ", ")
	}
	u.UpdateExpression = aws.String(expr)
	u.ConditionExpression = aws.String("attribute_exists(#id) AND attribute_exists(#cs)")
	return u, nil
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
