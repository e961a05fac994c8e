package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
)

// Feedback reads one piece of feedback.
func (s *Store) Feedback(ctx context.Context, id string) (*feedback.Feedback, error) {
	return get[feedback.Feedback](ctx, s.db, s.tables.Feedback, "feedback_id", id, "feedback")
}

// FeedbackOf lists a customer's feedback, newest first (sorted by instant:
// items stored before times had one form may be out of key order).
func (s *Store) FeedbackOf(ctx context.Context, customerID string) ([]feedback.Feedback, error) {
	all, _, err := queryAll[feedback.Feedback](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Feedback, IndexName: aws.String("by-customer"),
		KeyConditionExpression:    aws.String("customer_id = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)},
		ScanIndexForward:          aws.Bool(false),
	})
	if err != nil {
		return nil, fmt.Errorf("feedback of %s: %w", customerID, err)
	}
	out := make([]feedback.Feedback, len(all))
	for i, f := range all {
		out[i] = *f
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}

// Publishable lists the comments customers agreed to publish, newest first,
// at most limit (0: all). It reads the sparse testimonials index only.
func (s *Store) Publishable(ctx context.Context, limit int) ([]feedback.Feedback, error) {
	var all []feedback.Feedback
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Feedback, IndexName: aws.String("testimonials"),
		KeyConditionExpression:    aws.String("voice = :y"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":y": str(feedback.Publishable)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     pageOf(limit),
	})
	for p.HasMorePages() && (limit == 0 || len(all) < limit) {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query testimonials: %w", err)
		}
		var page []feedback.Feedback
		if err := unmarshalList(out.Items, &page); err != nil {
			return nil, fmt.Errorf("decode testimonials: %w", err)
		}
		all = append(all, page...)
	}
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// SaveFeedback writes feedback outside a webhook event (the email feedback
// form, a withdrawal by the shop). Ids are deterministic, so a repeat
// overwrites the same item.
func (s *Store) SaveFeedback(ctx context.Context, f feedback.Feedback) error {
	item, err := marshal(f)
	if err != nil {
		return fmt.Errorf("encode feedback %s: %w", f.ID, err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Feedback, Item: item}); err != nil {
		return fmt.Errorf("put feedback %s: %w", f.ID, err)
	}
	return nil
}

// Customers reads several customers; missing ones are left out.
func (s *Store) Customers(ctx context.Context, ids []string) (map[string]*customer.Customer, error) {
	out := make(map[string]*customer.Customer, len(ids))
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		c, err := s.Customer(ctx, id)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, nil
}

// FeedbackSince lists what customers said since a time, newest first. It
// scans the table: the shop reads it now and then, a page at a time. The
// filter is widened by legacySlack for items stored before times had one
// form, and what it reads is filtered by instant.
func (s *Store) FeedbackSince(ctx context.Context, since time.Time) ([]feedback.Feedback, error) {
	var all []feedback.Feedback
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName:                 &s.tables.Feedback,
		FilterExpression:          aws.String("#at >= :since"),
		ExpressionAttributeNames:  map[string]string{"#at": "at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":since": ts(since.Add(-legacySlack))},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan feedback: %w", err)
		}
		var page []feedback.Feedback
		if err := unmarshalList(out.Items, &page); err != nil {
			return nil, fmt.Errorf("decode feedback: %w", err)
		}
		all = append(all, page...)
	}
	all = slices.DeleteFunc(all, func(f feedback.Feedback) bool { return f.At.Before(since) })
	sort.Slice(all, func(i, j int) bool { return all[i].At.After(all[j].At) })
	return all, nil
}

// pageOf is the page size of a read that wants limit items (0: all): a few
// more than asked, as some may be dropped on a second look.
func pageOf(limit int) *int32 {
	if limit <= 0 {
		return nil
	}
	return aws.Int32(int32(min(limit+5, 1000)))
}
