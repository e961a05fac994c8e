package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// CustomerByLINE finds the customer with a LINE user id.
func (s *Store) CustomerByLINE(ctx context.Context, userID string) (*customer.Customer, error) {
	return s.customerBy(ctx, "by-line-user", "line_user_id", userID)
}

// CustomerByEmail finds the customer with an email address.
func (s *Store) CustomerByEmail(ctx context.Context, addr string) (*customer.Customer, error) {
	return s.customerBy(ctx, "by-email", "email", addr)
}

// customerBy looks a contact point up in a keys-only index, then reads the
// customer consistently (the index may lag; the item may not).
func (s *Store) customerBy(ctx context.Context, index, attr, value string) (*customer.Customer, error) {
	if value == "" {
		return nil, fmt.Errorf("%s \"\": %w", attr, domain.ErrNotFound)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.tables.Customers, IndexName: aws.String(index),
		KeyConditionExpression:    aws.String("#a = :v"),
		ExpressionAttributeNames:  map[string]string{"#a": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": str(value)},
		Limit:                     aws.Int32(1),
	})
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", index, err)
	}
	if len(out.Items) == 0 {
		return nil, fmt.Errorf("customer by %s: %w", attr, domain.ErrNotFound)
	}
	id, ok := out.Items[0]["customer_id"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("index %s: item without customer_id", index)
	}
	return s.Customer(ctx, id.Value)
}

// MessageByReplyToken finds the email message whose reply address carries token.
func (s *Store) MessageByReplyToken(ctx context.Context, token string) (*message.Record, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.tables.Messages, IndexName: aws.String("by-reply-token"),
		KeyConditionExpression:    aws.String("reply_token = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(token)},
		Limit:                     aws.Int32(1),
	})
	if err != nil {
		return nil, fmt.Errorf("query by-reply-token: %w", err)
	}
	if len(out.Items) == 0 {
		return nil, fmt.Errorf("message by reply token: %w", domain.ErrNotFound)
	}
	key, ok := out.Items[0]["message_key"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("index by-reply-token: item without message_key")
	}
	return s.Message(ctx, message.Key(key.Value))
}
