package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
)

// Pause reads a channel's pause; a channel never paused has the zero Pause,
// which is not active.
func (s *Store) Pause(ctx context.Context, ch customer.Channel) (delivery.Pause, error) {
	p, err := get[delivery.Pause](ctx, s.db, s.tables.Channels, "channel", string(ch), "channel pause")
	if errors.Is(err, domain.ErrNotFound) {
		return delivery.Pause{Channel: ch}, nil
	}
	if err != nil {
		return delivery.Pause{}, err
	}
	return *p, nil
}

// SetPause records a channel's pause for every sender. Senders that meet
// the same refusal at once write the same pause: the last write wins.
func (s *Store) SetPause(ctx context.Context, p delivery.Pause) error {
	item, err := marshal(p)
	if err != nil {
		return fmt.Errorf("encode pause of %s: %w", p.Channel, err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Channels, Item: item}); err != nil {
		return fmt.Errorf("pause %s: %w", p.Channel, err)
	}
	return nil
}
