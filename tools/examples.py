"""One example per schema of the public document (tools/public_api.py attaches them;
a test validates each against its schema). Ids, tokens and secrets are made up."""

from __future__ import annotations

from typing import Any

JOB_ID = "5f0c3e9a8b7d4c2e9f1a6b3c4d5e6f70"
USER_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
LINK = "https://sora.chatgpt.com/p/s_68e2b5c1f0a48191b1e3c2d4f5a6b7c8"
CLEAN = "https://cdn.git44.example/files/5f0c3e9a.mp4?expires=1764556800&signature=3f9a"
HOOK = "https://hooks.example.com/git44"
AT = "2026-12-01T09:30:00Z"
LATER = "2026-12-01T09:30:07Z"

USER = {"id": USER_ID, "email": "ada@example.com", "role": "user", "createdAt": AT,
        "emailVerified": True}  # fmt: skip
USER_ADMIN_VIEW = {**USER, "disabled": False, "updatedAt": LATER}
API_KEY = {"id": "k_7d1e2f3a4b5c", "name": "production", "prefix": "g44_7d1e",
           "createdAt": AT, "lastUsed": LATER, "expiresAt": None}  # fmt: skip
TOKENS = {"accessToken": "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30.c2ln",
          "refreshToken": "rt_Vb3kq9sP0m2x", "tokenType": "Bearer", "expiresIn": 900}  # fmt: skip
JOB = {"id": JOB_ID, "inputLink": LINK, "outputLink": CLEAN, "status": "success",
       "taskId": "rs_task_91c2", "retryCount": 0, "maxRetries": 3, "pollCount": 1,
       "maxPolls": 8, "error": None, "cached": False, "estimatedReadyAt": None,
       "createdAt": AT, "startedAt": AT, "completedAt": LATER, "updatedAt": LATER}  # fmt: skip
DEV_JOB = {**JOB, "callbackUrl": HOOK}
ADMIN_JOB = {**DEV_JOB, "userId": USER_ID, "source": "api", "charge": "reserved"}
QUOTA = {"totalQuota": 500, "remainingQuota": 488, "dailyLimit": 200, "dailyUsed": 12,
         "resetAt": "2026-12-02T00:00:00Z"}  # fmt: skip
DELIVERY = {"id": "d_3b9c", "jobId": JOB_ID, "eventId": "evt_2f8a1c", "url": HOOK,
            "attempt": 1, "statusCode": 204, "latencyMs": 84.2, "error": None,
            "nextRetryAt": None, "attemptedAt": LATER}  # fmt: skip
ENDPOINT = {"id": "we_9c1d2e3f4a5b", "url": HOOK, "description": "production receiver",
            "eventTypes": ["removal.processing", "removal.success"], "enabled": True,
            "disabledAt": None, "disabledReason": None, "failingSince": None,
            "previousSecretExpiresAt": None, "createdAt": AT, "updatedAt": LATER}  # fmt: skip
ENDPOINT_DELIVERY = {"id": "6650f1a2b3c4d5e6f7a8b9c0", "webhookId": "evt_2f8a1c",
                     "eventType": "removal.success", "jobId": JOB_ID, "url": HOOK, "attempt": 1,
                     "statusCode": 500, "latencyMs": 41.7, "error": "HTTP 500",
                     "nextRetryAt": "2026-12-01T09:30:37Z", "attemptedAt": LATER}  # fmt: skip
CIRCUIT = {"upstream": "scraperapi", "state": "open", "openedAt": AT,
           "reason": "5 failures in a row", "nextProbeAt": LATER, "openedCount": 2}  # fmt: skip
SCRAPER_KEY = {"id": "sk_41f2", "label": "pool-1", "maskedKey": "5e2f…a91c", "status": "active",
               "usageCount": 1280, "inFlight": 1, "maxConcurrency": 5, "lastUsed": LATER,
               "limitedAt": None, "cooldownUntil": None, "creditsLeft": 98720,
               "planConcurrency": 10, "planReadAt": LATER, "createdAt": AT,
               "updatedAt": LATER}  # fmt: skip
DEAD_LETTER = {"id": "9b2e41c07d5a4f18a3c6e0d2b7f45a13", "queue": "removal", "jobId": JOB_ID,
               "userId": USER_ID, "reason": "delivery_limit", "sourceQueue": "git44.removal",
               "deathCount": 5, "deadAt": AT, "storedAt": LATER,
               "body": '{"schema_version":1,"job_id":"5f0c3e9a8b7d4c2e9f1a6b3c4d5e6f70"}',
               "bodyTruncated": False}  # fmt: skip
REPLAYED = {"id": DEAD_LETTER["id"], "jobId": JOB_ID, "replayed": True, "status": "queued",
            "detail": None}  # fmt: skip
KEPT = {"id": "4d1a7e0c2b9f4e3a8d6c5b1a0f9e8d7c", "jobId": None, "replayed": False,
        "status": None, "detail": "The letter is not a removal request: purge it."}  # fmt: skip
AUDIT_ENTRY = {"id": "0c4f9d2a7e1b4c3d8a5f6e7d9c0b1a2e", "service": "jobs-api",
               "actor": "e7d9c0b1a2e30c4f9d2a7e1b4c3d8a5f", "action": "dead_letter.replay",
               "target": JOB_ID, "before": {"letter": DEAD_LETTER["id"], "status": "queued"},
               "after": {"status": "queued"}, "at": LATER}  # fmt: skip
PASSWORD = "correct-Horse-battery-9"

EXAMPLES: dict[str, Any] = {
    # auth
    "RegisterRequest": {
        "email": "ada@example.com",
        "password": PASSWORD,
        "confirmPassword": PASSWORD,
    },  # fmt: skip
    "LoginRequest": {"email": "ada@example.com", "password": PASSWORD},
    "RefreshRequest": {"refreshToken": "rt_Vb3kq9sP0m2x"},
    "TokensPublic": TOKENS,
    "SessionPublic": {**TOKENS, "user": USER},
    "RegisteredPublic": {
        **TOKENS,
        "user": USER,
        "apiKey": {**API_KEY, "lastUsed": None, "key": "g44_7d1e_Yq4vN2kP8sLm0xW3"},
    },  # fmt: skip
    "UserPublic": USER,
    "AccountDeleteRequest": {"currentPassword": PASSWORD},
    "AccountExportPublic": {
        "account": USER,
        "apiKeys": [{**API_KEY, "revokedAt": None}],
        "removal": {"quota": QUOTA, "jobs": [JOB], "webhookDeliveries": [DELIVERY]},
    },
    "AcceptedPublic": {"detail": "If the address is registered, a message is on its way."},
    "PasswordChangeRequest": {
        "currentPassword": PASSWORD,
        "newPassword": "new-Horse-battery-10",
        "confirmPassword": "new-Horse-battery-10",
        "revokeApiKeys": False,
    },  # fmt: skip
    "PasswordForgotRequest": {"email": "ada@example.com"},
    "PasswordResetRequest": {
        "token": "prt_Xc81mQ2",
        "password": "new-Horse-battery-10",
        "confirmPassword": "new-Horse-battery-10",
        "revokeApiKeys": True,
    },  # fmt: skip
    "VerifyEmailRequest": {"token": "evt_Lw09pA3"},
    "ApiKeyCreate": {"name": "production", "expiresAt": "2027-12-01T00:00:00Z"},
    "ApiKeyCreated": {**API_KEY, "lastUsed": None, "key": "g44_7d1e_Yq4vN2kP8sLm0xW3"},
    "ApiKeyExport": {**API_KEY, "revokedAt": None},
    "ApiKeyPublic": API_KEY,
    "ApiKeysPublic": {"data": [API_KEY], "nextCursor": None},
    "UserAdminPublic": USER_ADMIN_VIEW,
    "UsersPublic": {"data": [USER_ADMIN_VIEW], "nextCursor": "eyJjIjoiMjAyNi0xMi0wMSJ9"},
    "UserUpdate": {"disabled": True},
    # jobs
    "RemovalCreate": {"inputLink": LINK},
    "DevRemovalCreate": {"inputLink": LINK, "callbackUrl": HOOK},
    "DevBatchCreate": {
        "items": [
            {"inputLink": LINK, "callbackUrl": HOOK},
            {"inputLink": "https://sora.chatgpt.com/p/s_2"},
        ]
    },  # fmt: skip
    "JobStatus": "success",
    "JobPublic": JOB,
    "DevJobPublic": DEV_JOB,
    "AdminJobPublic": ADMIN_JOB,
    "JobsPublic": {"data": [JOB], "nextCursor": "eyJjIjoiMjAyNi0xMi0wMSJ9"},
    "DevJobsPublic": {"data": [DEV_JOB], "nextCursor": None},
    "AdminJobsPublic": {"data": [ADMIN_JOB], "nextCursor": None},
    "BatchItemResult": {"index": 0, "status": 202, "job": {**DEV_JOB, "status": "queued"}},
    "BatchResult": {
        "data": [
            {"index": 0, "status": 202, "job": {**DEV_JOB, "status": "queued"}},
            {
                "index": 1,
                "status": 402,
                "job": None,
                "problem": {
                    "type": "urn:git44:problem:quota_exhausted",
                    "title": "Quota exhausted",
                    "status": 402,
                    "code": "quota_exhausted",
                },
            },
        ]
    },  # fmt: skip
    "QuotaPublic": QUOTA,
    "QuotaUpdate": {"addCredits": 100},
    "QuotaUsage": {
        "users": 1240,
        "totalCredits": 620000,
        "remainingCredits": 512300,
        "usedCredits": 107700,
        "dailyUsedToday": 3120,
    },  # fmt: skip
    "StatsPublic": {
        "jobsByStatus": {"queued": 4, "processing": 6, "success": 9810, "failed": 12},
        "totalJobs": 9832,
        "successRate": 0.9988,
        "avgProcessingSeconds": 4.1,
        "p95ProcessingSeconds": 7.9,
        "queueDepth": 4,
        "deadLetters": 0,
        "upstreamCalls": 18210,
        "upstreamCallsSaved": 2950,
        "byProvider": {
            "removesora": {
                "jobs": 9100,
                "succeeded": 9080,
                "failed": 10,
                "calls": 18210,
                "calledBack": 0,
            },
            "kie": {"jobs": 732, "succeeded": 730, "failed": 2, "calls": 741, "calledBack": 721},
        },
        "quota": {
            "users": 1240,
            "totalCredits": 620000,
            "remainingCredits": 512300,
            "usedCredits": 107700,
            "dailyUsedToday": 3120,
        },
        "generatedAt": LATER,
    },  # fmt: skip
    "CachePurgePublic": {"link": LINK, "purged": 1},
    "DeadLetterPublic": DEAD_LETTER,
    "DeadLettersPublic": {"data": [DEAD_LETTER], "nextCursor": None},
    "DeadLetterReplayPublic": REPLAYED,
    "DeadLettersReplayPublic": {"data": [REPLAYED, KEPT], "nextCursor": None},
    "DeadLettersPurgedPublic": {"purged": 2},
    "AuditEntryPublic": AUDIT_ENTRY,
    "AuditEntriesPublic": {"data": [AUDIT_ENTRY], "nextCursor": "eyJhdCI6IjIwMjYtMTIifQ"},
    "ProviderStats": {"jobs": 732, "succeeded": 730, "failed": 2, "calls": 741, "calledBack": 721},
    "JobsExportPublic": {
        "quota": QUOTA,
        "jobs": [JOB],
        "webhookDeliveries": [DELIVERY],
        "webhookEndpoints": [ENDPOINT],
    },  # fmt: skip
    "EventType": "removal.success",
    "CallbackAccepted": {"received": True},
    "WebhookEndpointCreate": {
        "url": HOOK,
        "description": "production receiver",
        "eventTypes": ["removal.processing", "removal.success"],
    },  # fmt: skip
    "WebhookEndpointUpdate": {"eventTypes": ["removal.success", "removal.failed"]},
    "WebhookEndpointPublic": ENDPOINT,
    "WebhookEndpointCreated": {**ENDPOINT, "secret": "whsec_Qm9sZGx5IGdvIHdoZXJlIG5vIG9uZSBoYXM="},
    "WebhookEndpointsPublic": {"data": [ENDPOINT]},
    "EndpointDeliveryPublic": ENDPOINT_DELIVERY,
    "EndpointDeliveriesPublic": {"data": [ENDPOINT_DELIVERY]},
    "DeliveryQueuedPublic": {"webhookId": "evt_2f8a1c", "eventType": "removal.success"},
    "WebhookDeliveryPublic": DELIVERY,
    "WebhookSecretPublic": {
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "createdAt": AT,
        "scheme": "standard-webhooks",
    },  # fmt: skip
    "RemovalEvent": {"type": "removal.success", "timestamp": LATER, "data": JOB},
    # key-manager
    "KeyStatus": "active",
    "ScraperKeyCreate": {
        "apiKey": "5e2f0c9d1b7a4e3f8a6c2d0b9e1fa91c",
        "label": "pool-1",
        "maxConcurrency": 5,
    },  # fmt: skip
    "ScraperKeyUpdate": {"label": "pool-2", "maxConcurrency": 3, "enabled": True},
    "ScraperKeyPublic": SCRAPER_KEY,
    "ScraperKeysPublic": {"data": [SCRAPER_KEY], "nextCursor": None},
    "KeysSummaryPublic": {
        "total": 3,
        "byState": {"active": 2, "cooldown": 1},
        "inFlight": 2,
        "cooldownUntil": None,
        "circuits": [
            CIRCUIT,
            {
                **CIRCUIT,
                "upstream": "removesora",
                "state": "closed",
                "openedAt": None,
                "reason": None,
                "nextProbeAt": None,
                "openedCount": 0,
            },
        ],
    },  # fmt: skip
    "CircuitPublic": CIRCUIT,
    "Upstream": "scraperapi",
    "CircuitState": "open",
    # shared
    "Problem": {
        "type": "urn:git44:problem:quota_exhausted",
        "title": "Quota exhausted",
        "status": 402,
        "detail": "No credits left.",
        "instance": "/api/removal",
        "code": "quota_exhausted",
        "correlationId": "c0ffee00c0ffee00",
    },  # fmt: skip
    "ValidationError": {
        "loc": ["body", "inputLink"],
        "msg": "not a Sora share link",
        "type": "value_error",
    },  # fmt: skip
    "HTTPValidationError": {
        "detail": [
            {"loc": ["body", "inputLink"], "msg": "not a Sora share link", "type": "value_error"}
        ]
    },  # fmt: skip
}
