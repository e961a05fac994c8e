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

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/referral"
)

// codeID is the referrals-table item that maps a code to its customer.
func codeID(code string) string { return "code|" + code }

// ReferralCodeOwner finds the customer a referral code belongs to, read
// consistently (a code shown a moment ago must work at once, which a GSI
// could not promise).
func (s *Store) ReferralCodeOwner(ctx context.Context, code string) (string, error) {
	item, err := get[struct {
		CustomerID string `dynamodbav:"customer_id"`
	}](ctx, s.db, s.tables.Referrals, "referral_id", codeID(code), "referral code")
	if err != nil {
		return "", err
	}
	return item.CustomerID, nil
}

// ClaimReferralCode gives a customer who has none the code, all or nothing:
// the code item (refused with referral.ErrCodeTaken if the code is someone
// else's) and the code on the customer, with a new version so that a save
// of the customer read before it conflicts instead of erasing it. A
// customer who has a code by now gives domain.ErrConflict: read them again.
func (s *Store) ClaimReferralCode(ctx context.Context, c *customer.Customer, code string, at time.Time) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Referrals, Item: map[string]types.AttributeValue{
			"referral_id": str(codeID(code)), "customer_id": str(c.ID), "created_at": ts(at),
		}, ConditionExpression: aws.String("attribute_not_exists(referral_id)")}},
		{Update: &types.Update{TableName: &s.tables.Customers, Key: map[string]types.AttributeValue{"customer_id": str(c.ID)},
			UpdateExpression:          aws.String("SET referral_code = :c, version = version + :one"),
			ConditionExpression:       aws.String("attribute_exists(customer_id) AND attribute_not_exists(referral_code)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(code), ":one": num(1)}}},
	}})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		switch {
		case failedCheck(canceled.CancellationReasons, 0):
			return fmt.Errorf("claim a referral code for %s: %w", c.ID, referral.ErrCodeTaken)
		case failedCheck(canceled.CancellationReasons, 1):
			return fmt.Errorf("claim a referral code for %s: %w", c.ID, domain.ErrConflict)
		}
	}
	if err != nil {
		return fmt.Errorf("claim a referral code for %s: %w", c.ID, err)
	}
	c.ReferralCode = code
	c.Version++
	return nil
}

// Referral reads one referral record.
func (s *Store) Referral(ctx context.Context, id string) (*referral.Referral, error) {
	return get[referral.Referral](ctx, s.db, s.tables.Referrals, "referral_id", id, "referral")
}

// CreditReferral records a credited referral and the referrer as they stand
// after it (read at version referrer.Version: their count, perhaps their
// rank), all or nothing. A referral id recorded before gives
// domain.ErrDuplicate; a referrer changed since read, domain.ErrConflict.
func (s *Store) CreditReferral(ctx context.Context, r referral.Referral, referrer *customer.Customer) error {
	item, err := marshal(r)
	if err != nil {
		return fmt.Errorf("encode referral %s: %w", r.ID, err)
	}
	u, err := s.customerUpdate(referrer)
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Referrals, Item: item, ConditionExpression: aws.String("attribute_not_exists(referral_id)")}},
		{Update: u},
	}})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		switch {
		case failedCheck(canceled.CancellationReasons, 0):
			return fmt.Errorf("credit referral %s: %w", r.ID, domain.ErrDuplicate)
		case failedCheck(canceled.CancellationReasons, 1):
			return fmt.Errorf("credit referral %s: %w", r.ID, domain.ErrConflict)
		}
	}
	if err != nil {
		return fmt.Errorf("credit referral %s: %w", r.ID, err)
	}
	referrer.Version++
	return nil
}

// RecordRefusal records a refused referral unless it was recorded before
// (the same order or event again); it reports whether it was new.
func (s *Store) RecordRefusal(ctx context.Context, r referral.Referral) (bool, error) {
	item, err := marshal(r)
	if err != nil {
		return false, fmt.Errorf("encode referral %s: %w", r.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Referrals, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(referral_id)")})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record refused referral %s: %w", r.ID, err)
	}
	return true, nil
}

// ReferralsOf lists the referrals a customer is on either side of, newest
// first, through the two indexes (never a Scan).
func (s *Store) ReferralsOf(ctx context.Context, customerID string) ([]referral.Referral, error) {
	var out []referral.Referral
	seen := map[string]bool{}
	for _, side := range []struct{ index, attr string }{{"by-referrer", "referrer_id"}, {"by-referred", "referred_id"}} {
		rs, _, err := queryAll[referral.Referral](ctx, s.db, &dynamodb.QueryInput{
			TableName: &s.tables.Referrals, IndexName: aws.String(side.index),
			KeyConditionExpression:    aws.String("#a = :c"),
			ExpressionAttributeNames:  map[string]string{"#a": side.attr},
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)},
		})
		if err != nil {
			return nil, fmt.Errorf("referrals of %s: %w", customerID, err)
		}
		for _, r := range rs {
			if !seen[r.ID] { // a self-referral is on both sides
				seen[r.ID] = true
				out = append(out, *r)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b referral.Referral) int { return b.At.Compare(a.At) })
	return out, nil
}
