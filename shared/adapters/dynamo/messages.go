package dynamo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// Message reads one message record.
func (s *Store) Message(ctx context.Context, key message.Key) (*message.Record, error) {
	return get[message.Record](ctx, s.db, s.tables.Messages, "message_key", string(key), "message")
}

func messageKey(key message.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"message_key": &types.AttributeValueMemberS{Value: string(key)}}
}

// A message in flight (queued, retrying, claimed, deferred, or an ambiguous
// email awaiting SendGrid's word) carries "pending", one of pendingShards
// values, and "due_at": the sparse by-pending index lists what is in flight
// by when it should have moved on, so the reconciler reads only that. The
// shards spread a large campaign's writes over index partitions.
const pendingShards = 16

func pendingShard(key message.Key) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return fmt.Sprintf("p%02d", h.Sum32()%pendingShards)
}

// PendingShards names every shard of the by-pending index.
func PendingShards() []string {
	out := make([]string, pendingShards)
	for i := range out {
		out[i] = fmt.Sprintf("p%02d", i)
	}
	return out
}

// messageItem encodes a message record with the attributes its indexes need:
// pending and due_at while it is in flight, campaign for a newsletter.
func messageItem(r message.Record) (map[string]types.AttributeValue, error) {
	item, err := marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode message %s: %w", r.Key, err)
	}
	if due := r.Due(); !due.IsZero() {
		item["pending"], item["due_at"] = str(pendingShard(r.Key)), ts(due)
	}
	if id, ok := r.Campaign(); ok {
		item["campaign"] = str(id)
	}
	p := placeOf(r)
	item["report_month"], item["report_row"], item["report_week"] = str(p.Month), str(p.Row), str(p.Week)
	return item, nil
}

// pendingUpdate is the part of an update expression that keeps a message's
// place in the by-pending index as its status changes.
func pendingUpdate(key message.Key, due time.Time, sets, removes *[]string, vals map[string]types.AttributeValue) {
	if due.IsZero() {
		*removes = append(*removes, "pending", "due_at")
		return
	}
	*sets = append(*sets, "pending = :pending", "due_at = :due")
	vals[":pending"], vals[":due"] = str(pendingShard(key)), ts(due)
}

// Claim takes a message for sending on a channel until lease ends. It succeeds
// when the message is new, queued, or waiting for a retry; or when a LINE
// send's lease expired (LINE's retry key makes resending safe). An email whose
// sender vanished mid-send is never claimed again: it may have gone out.
// Otherwise it returns message.ErrClaimed. It returns the message as claimed,
// which Settle takes.
func (s *Store) Claim(ctx context.Context, job message.Job, ch customer.Channel, now, lease time.Time) (*message.Record, error) {
	set := "SET #st = :sending, channel = :ch, lease_until = :lease, updated_at = :now, " +
		"attempts = if_not_exists(attempts, :zero) + :one, kind = if_not_exists(kind, :kind), " +
		"customer_id = if_not_exists(customer_id, :cid), #rk = if_not_exists(#rk, :rank), created_at = if_not_exists(created_at, :now)"
	vals := map[string]types.AttributeValue{
		":sending": str(string(message.Sending)), ":queued": str(string(message.Queued)),
		":retry": str(string(message.Retry)), ":line": str(string(customer.LINE)), ":deferred": str(string(message.Deferred)),
		":ch": str(string(ch)), ":lease": ts(lease), ":now": ts(now),
		":zero": &types.AttributeValueMemberN{Value: "0"}, ":one": &types.AttributeValueMemberN{Value: "1"},
		":kind": str(string(job.Kind)), ":cid": str(job.CustomerID), ":rank": str(job.Rank),
	}
	if ch == customer.Email {
		// Index the message by its reply address, so a reply finds it.
		set += ", reply_token = :rt"
		vals[":rt"] = str(message.ReplyTokenOf(job.Key))
	}
	sets, removes := []string{set}, []string{"reason", "release_slot", "recheck_at"}
	pendingUpdate(job.Key, lease, &sets, &removes, vals)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.tables.Messages,
		Key:              messageKey(job.Key),
		UpdateExpression: aws.String(strings.Join(sets, ", ") + " REMOVE " + strings.Join(removes, ", ")),
		ConditionExpression: aws.String("attribute_not_exists(message_key) OR #st IN (:queued, :retry, :deferred) OR " +
			"(#st = :sending AND lease_until < :now AND channel = :line)"),
		ExpressionAttributeNames:  map[string]string{"#st": "status", "#rk": "rank"},
		ExpressionAttributeValues: vals,
		// What the settle needs to know (where a send counts), at no extra read.
		ReturnValues: types.ReturnValueAllNew,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil, fmt.Errorf("claim message %s: %w", job.Key, message.ErrClaimed)
	}
	if err != nil {
		return nil, fmt.Errorf("claim message %s: %w", job.Key, err)
	}
	var claimed message.Record
	if err := unmarshal(out.Attributes, &claimed); err != nil {
		return nil, fmt.Errorf("decode claimed message %s: %w", job.Key, err)
	}
	return &claimed, nil
}

// Settle records the outcome of the attempt that holds the claim on m (the
// message as Claim or Message returned it). A send is counted in the
// report, once, where m says it counts: in the same transaction as the
// outcome when it can be, or else just after it.
func (s *Store) Settle(ctx context.Context, m *message.Record, o message.Outcome) error {
	key := m.Key
	if o.Status == message.Sent && m.ReportMonth != "" && s.settleCounted(ctx, m, o) {
		return nil
	}
	cond := "attribute_exists(message_key)"
	if o.Status == message.Ambiguous {
		// Unless the provider reported the message meanwhile (its events can
		// arrive before the answer the sender gave up on): then it was taken.
		cond += " AND attribute_not_exists(taken_at)"
	}
	settled, err := s.settle(ctx, key, o, cond, nil)
	var failed *types.ConditionalCheckFailedException
	if o.Status == message.Ambiguous && errors.As(err, &failed) {
		return s.settleTaken(ctx, m, o)
	}
	if err != nil {
		return fmt.Errorf("settle message %s as %s: %w", key, o.Status, err)
	}
	if o.Status == message.Sent {
		return s.countSettled(ctx, key, settled)
	}
	return nil
}

// settleCounted settles a send and counts it in one transaction: the
// outcome, on condition that the message still counts where m says; the
// marker that it was counted; the report's counters. It reports false when
// the transaction did not go through, for whatever reason (the message
// moved or is gone, the send was counted before, a concurrent transaction
// on a counter, a timeout): the caller then settles and counts apart, as
// it did before, which sorts each case out, and a lost answer to a
// transaction that did commit costs nothing (the settle writes the same
// again, the marker stops a second count).
func (s *Store) settleCounted(ctx context.Context, m *message.Record, o message.Outcome) bool {
	p := place{Month: m.ReportMonth, Row: m.ReportRow, Week: m.ReportWeek}
	vals := map[string]types.AttributeValue{":month": str(p.Month), ":row": str(p.Row)}
	cond := "attribute_exists(message_key) AND report_month = :month AND report_row = :row AND "
	if p.Week == "" {
		cond += "attribute_not_exists(report_week)"
	} else {
		cond += "report_week = :week"
		vals[":week"] = str(p.Week)
	}
	items := append([]types.TransactWriteItem{{Update: s.settleUpdate(m.Key, o, cond, vals)}},
		s.counted(p, m.Key, "sent", map[string]int64{"sent": 1})...)
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err == nil
}

// countSettled counts a message settled sent, once, where the settled
// message says it counts: no read to find out.
func (s *Store) countSettled(ctx context.Context, key message.Key, settled map[string]types.AttributeValue) error {
	var p place
	if err := unmarshal(settled, &p); err != nil || p.Month == "" {
		return err // decided before reports were kept: counted nowhere
	}
	return s.countOnceAt(ctx, key, p, "sent", map[string]int64{"sent": 1})
}

// settle writes an outcome under a condition, and returns the message as
// it now stands.
func (s *Store) settle(ctx context.Context, key message.Key, o message.Outcome, cond string, condVals map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	u := s.settleUpdate(key, o, cond, condVals)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return nil, err
	}
	return out.Attributes, nil
}

// settleUpdate is the update that writes an outcome under a condition.
func (s *Store) settleUpdate(key message.Key, o message.Outcome, cond string, condVals map[string]types.AttributeValue) *types.Update {
	sets := []string{"#st = :st", "updated_at = :at"}
	vals := map[string]types.AttributeValue{":st": str(string(o.Status)), ":at": ts(o.At)}
	maps.Copy(vals, condVals)
	for _, f := range []struct{ field, value string }{
		{"reason", o.Reason}, {"provider_id", o.ProviderID}, {"template", o.Template}, {"template_version", o.Versions},
	} {
		if f.value != "" {
			sets = append(sets, f.field+" = :"+f.field)
			vals[":"+f.field] = str(f.value)
		}
	}
	if o.Status == message.Sent {
		sets = append(sets, "sent_at = :at")
	}
	if o.Content > 0 {
		sets = append(sets, "content_revision = :content")
		vals[":content"] = &types.AttributeValueMemberN{Value: strconv.Itoa(o.Content)}
	}
	if o.Status == message.Deferred {
		sets = append(sets, "not_before = :nb", "release_slot = :slot")
		vals[":nb"], vals[":slot"] = ts(o.NotBefore), str(message.ReleaseSlotOf(o.NotBefore))
	}
	removes := []string{"lease_until"}
	if !o.RecheckAt.IsZero() {
		sets = append(sets, "recheck_at = :recheck")
		vals[":recheck"] = ts(o.RecheckAt)
	} else {
		removes = append(removes, "recheck_at")
	}
	pendingUpdate(key, o.Due(), &sets, &removes, vals)
	return &types.Update{
		TableName:                 &s.tables.Messages,
		Key:                       messageKey(key),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ") + " REMOVE " + strings.Join(removes, ", ")),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
	}
}

// settleTaken settles a send the provider reported taking although its
// answer was lost: sent, unless its events moved it further already; either
// way the claim ends.
func (s *Store) settleTaken(ctx context.Context, m *message.Record, o message.Outcome) error {
	key := m.Key
	vals := map[string]types.AttributeValue{":sending": str(string(message.Sending)), ":sent": str(string(message.Sent)), ":at": ts(o.At)}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Messages, Key: messageKey(key),
		UpdateExpression:          aws.String("SET #st = :sent, updated_at = :at, sent_at = if_not_exists(sent_at, :at) REMOVE lease_until, pending, due_at, recheck_at, reason"),
		ConditionExpression:       aws.String("#st = :sending"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.tables.Messages, Key: messageKey(key),
			UpdateExpression: aws.String("REMOVE lease_until, pending, due_at, recheck_at"),
		})
	}
	if err != nil {
		return fmt.Errorf("settle message %s as taken: %w", key, err)
	}
	if m.ReportMonth != "" {
		return s.countOnceAt(ctx, key, place{Month: m.ReportMonth, Row: m.ReportRow, Week: m.ReportWeek}, "sent", map[string]int64{"sent": 1})
	}
	return s.countSent(ctx, key)
}

// History lists every message of a customer, newest first, through the
// by-customer index.
func (s *Store) History(ctx context.Context, customerID string) ([]*message.Record, error) {
	recs, _, err := queryAll[message.Record](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Messages, IndexName: aws.String("by-customer"),
		KeyConditionExpression:    aws.String("customer_id = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)},
		ScanIndexForward:          aws.Bool(false),
	})
	return recs, err
}

// MessagesOf lists a customer's messages, newest first.
func (s *Store) MessagesOf(ctx context.Context, customerID string, limit int32) ([]message.Record, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.tables.Messages,
		IndexName:                 aws.String("by-customer"),
		KeyConditionExpression:    aws.String("customer_id = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("query messages of %s: %w", customerID, err)
	}
	var recs []message.Record
	if err := unmarshalList(out.Items, &recs); err != nil {
		return nil, fmt.Errorf("decode messages of %s: %w", customerID, err)
	}
	return recs, nil
}

// ForSending reads what sending a job takes, in one round trip, strongly
// consistent as get is: its message, its customer and, when the job names
// one, the order it thanks for. Each is nil when absent.
func (s *Store) ForSending(ctx context.Context, job message.Job) (*message.Record, *customer.Customer, *customer.Order, error) {
	consistent := func(key map[string]types.AttributeValue) types.KeysAndAttributes {
		return types.KeysAndAttributes{Keys: []map[string]types.AttributeValue{key}, ConsistentRead: aws.Bool(true)}
	}
	pending := map[string]types.KeysAndAttributes{
		s.tables.Messages:  consistent(messageKey(job.Key)),
		s.tables.Customers: consistent(map[string]types.AttributeValue{"customer_id": str(job.CustomerID)}),
	}
	if job.OrderID != "" {
		pending[s.tables.Orders] = consistent(map[string]types.AttributeValue{"order_id": str(job.OrderID)})
	}
	var (
		rec *message.Record
		c   *customer.Customer
		o   *customer.Order
	)
	for len(pending) > 0 {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("get message %s, its customer and order: %w", job.Key, err)
		}
		if err := decodeOne(out.Responses[s.tables.Messages], &rec); err != nil {
			return nil, nil, nil, fmt.Errorf("decode message %s: %w", job.Key, err)
		}
		if err := decodeOne(out.Responses[s.tables.Customers], &c); err != nil {
			return nil, nil, nil, fmt.Errorf("decode customer %s: %w", job.CustomerID, err)
		}
		if err := decodeOne(out.Responses[s.tables.Orders], &o); err != nil {
			return nil, nil, nil, fmt.Errorf("decode order %s: %w", job.OrderID, err)
		}
		pending = out.UnprocessedKeys
	}
	return rec, c, o, nil
}

// decodeOne decodes the item of a one-key batch read into *v, and leaves
// *v alone when the answer holds none (absent, or left for the next round).
func decodeOne[T any](items []map[string]types.AttributeValue, v **T) error {
	for _, item := range items {
		*v = new(T)
		if err := unmarshal(item, *v); err != nil {
			return err
		}
	}
	return nil
}
