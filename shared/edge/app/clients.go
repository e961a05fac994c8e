package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
)

// DynamoDB returns a client for the region's DynamoDB, or $DYNAMODB_ENDPOINT when set.
func DynamoDB(ctx context.Context) (*dynamodb.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := os.Getenv("DYNAMODB_ENDPOINT"); ep != "" {
			o.BaseEndpoint = &ep
		}
	}), nil
}

// SQS returns a client for the region's SQS, or $SQS_ENDPOINT when set.
func SQS(ctx context.Context) (*sqs.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if ep := os.Getenv("SQS_ENDPOINT"); ep != "" {
			o.BaseEndpoint = &ep
		}
	}), nil
}

// S3 returns a client for the region's S3, or $S3_ENDPOINT when set (a
// local stand-in, addressed path-style: bucket names are not hosts there).
func S3(ctx context.Context) (*s3.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep := os.Getenv("S3_ENDPOINT"); ep != "" {
			o.BaseEndpoint, o.UsePathStyle = &ep, true
		}
	}), nil
}

// providerHTTP is shared by the provider clients: bounded, and reusing connections.
var providerHTTP = &http.Client{Timeout: 10 * time.Second}

// LINE returns a LINE client from $LINE_CHANNEL_ACCESS_TOKEN and
// $LINE_API_ENDPOINT, or nil when no token is set.
func LINE() (*line.Client, error) {
	token := os.Getenv("LINE_CHANNEL_ACCESS_TOKEN")
	if token == "" {
		return nil, nil
	}
	return line.New(token, os.Getenv("LINE_API_ENDPOINT"), providerHTTP)
}

// SendGrid returns a mail client from $SENDGRID_API_KEY and $SENDGRID_API_HOST,
// or nil when no key is set.
func SendGrid() (*sendgrid.Client, error) {
	key := os.Getenv("SENDGRID_API_KEY")
	if key == "" {
		return nil, nil
	}
	return sendgrid.New(key, os.Getenv("SENDGRID_API_HOST"), providerHTTP)
}
