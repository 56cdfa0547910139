"""Every route of API v1, once: rule, view, permission and OpenAPI text (see routing.Route).

`sender.web.api.register` adds these routes to the blueprint, the token check reads their permissions,
and /openapi.json is written from them. To add an operation, write its view and add a Route here.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from sender.services.messages.transactional import MessageInput
from sender.services.records.breaches import IncidentInput, NotificationInput
from sender.services.sequences.schema import SequenceInput
from sender.services.webhooks.endpoints import EndpointInput, EndpointPatch
from sender.web.api import (
    audit,
    breaches,
    campaigns,
    consents,
    contacts,
    imports,
    lists,
    messages,
    proofs,
    purposes,
    records,
    requalifications,
    requests,
    sequences,
    sms,
    webhook_endpoints,
)
from sender.web.api.openapi import document
from sender.web.api.routing import Answer, Form, Route, tagged
from sender.web.api.schemas.audit import AuditQuery
from sender.web.api.schemas.breaches import NoticeInput, PeriodQuery
from sender.web.api.schemas.campaigns import CampaignInput, DeliveriesQuery, SendInput, WinnerInput
from sender.web.api.schemas.consents import ConsentInput, EligibilityQuery
from sender.web.api.schemas.contacts import ContactInput, ContactPatch, ContactSearch
from sender.web.api.schemas.imports import ReportQuery
from sender.web.api.schemas.lists import ListInput, MemberIds
from sender.web.api.schemas.paging import PageQuery
from sender.web.api.schemas.purposes import PurposeInput, WordingInput
from sender.web.api.schemas.records import DpiaInput, DpiaRequirementInput, ProcessorInput, RegisterQuery
from sender.web.api.schemas.requalifications import ApprovalInput, InteractionInput, RequalificationInput
from sender.web.api.schemas.requests import (
    RequestsQuery,
    RightsRequestClose,
    RightsRequestExtension,
    RightsRequestInput,
)
from sender.web.api.schemas.sms import RepliesQuery, ReviewDecision
from sender.web.api.spec import items_of


def openapi() -> ResponseReturnValue:
    """Serve the OpenAPI document (public)."""
    return jsonify(document(ROUTES))


BULK = "Up to 10,000 ids per call. Unknown ids give 422 naming some of them, and nothing is written."

PURPOSES = tagged(
    "purposes",
    {"slug": "The purpose's slug."},
    Route(
        "POST /purposes",
        purposes.create_purpose,
        "createPurpose",
        "Add a purpose (an entry of the Art. 30 register)",
        Answer(201, "Created", purposes.PURPOSE),
        body=PurposeInput,
        errors=(409,),
        permission="purposes.manage",
    ),
    Route(
        "GET /purposes",
        purposes.list_purposes,
        "listPurposes",
        "List purposes",
        Answer(200, "All purposes", items_of(purposes.PURPOSE)),
    ),
    Route(
        "GET /purposes/<key:slug>",
        purposes.get_purpose,
        "getPurpose",
        "Get a purpose",
        Answer(200, "The purpose", purposes.PURPOSE),
    ),
    Route(
        "POST /purposes/<key:slug>/wordings",
        purposes.add_wording,
        "addWording",
        "Add the next consent wording version",
        Answer(201, "Created; the server assigns version = latest + 1", purposes.WORDING),
        body=WordingInput,
        permission="purposes.manage",
    ),
    Route(
        "GET /purposes/<key:slug>/wordings",
        purposes.list_wordings,
        "listWordings",
        "List wording versions, oldest first",
        Answer(200, "All versions", items_of(purposes.WORDING)),
    ),
)

CONTACTS = tagged(
    "contacts",
    {"public_id": "The contact's public id."},
    Route(
        "POST /contacts",
        contacts.create_contact,
        "createContact",
        "Create a contact",
        Answer(201, "Created", contacts.CONTACT),
        body=ContactInput,
        errors=(409,),
        permission="contacts.manage",
        description="409 when the address belongs to another contact or is on the suppression list; "
        "nothing is stored then.",
    ),
    Route(
        "GET /contacts",
        contacts.list_contacts,
        "listContacts",
        "List or search contacts, in pages",
        Answer(200, "One page", contacts.CONTACT_PAGE),
        query=ContactSearch,
    ),
    Route(
        "GET /contacts/<key:public_id>",
        contacts.get_contact,
        "getContact",
        "Get a contact",
        Answer(200, "The contact", contacts.CONTACT),
    ),
    Route(
        "PATCH /contacts/<key:public_id>",
        contacts.update_contact,
        "updateContact",
        "Change fields of a contact",
        Answer(200, "The changed contact", contacts.CONTACT),
        body=ContactPatch,
        errors=(409,),
        permission="contacts.manage",
    ),
    Route(
        "POST /contacts/<key:public_id>/interactions",
        requalifications.record_interaction,
        "recordInteraction",
        "Report an interaction from the person (moves the retention clock when it counts)",
        Answer(200, "Whether it counted", requalifications.INTERACTION_RESULT),
        body=InteractionInput,
        errors=(409,),
        permission="contacts.manage",
    ),
)

CONSENTS = tagged(
    "consents",
    {"public_id": "The contact's public id."},
    Route(
        "POST /contacts/<key:public_id>/consents",
        consents.record_consent,
        "recordConsent",
        "Record a consent grant or withdrawal with its proof",
        Answer(201, "The recorded event", consents.CONSENT_EVENT),
        body=ConsentInput,
        permission="contacts.manage",
        description="For a purpose that requires double opt-in, a grant by any mechanism other than "
        "double_opt_in is stored as a request (pending confirmation).",
    ),
    Route(
        "GET /contacts/<key:public_id>/consents",
        consents.list_consents,
        "listConsents",
        "Current consent states and full history",
        Answer(200, "States and proof", consents.CONSENTS),
    ),
    Route(
        "GET /contacts/<key:public_id>/eligibility",
        consents.eligibility,
        "checkEligibility",
        "Ask the consent gate whether the contact may be messaged now",
        Answer(200, "The gate's answer", consents.ELIGIBILITY),
        query=EligibilityQuery,
    ),
)

LISTS = tagged(
    "lists",
    {"list_id": "The list's id."},
    Route(
        "POST /lists",
        lists.create_list,
        "createList",
        "Create a list",
        Answer(201, "Created", lists.LIST),
        body=ListInput,
        errors=(409,),
        permission="lists.manage",
    ),
    Route(
        "GET /lists",
        lists.list_lists,
        "listLists",
        "List lists with member counts",
        Answer(200, "All lists", items_of(lists.LIST)),
    ),
    Route(
        "GET /lists/<id:list_id>",
        lists.get_list,
        "getList",
        "Get a list",
        Answer(200, "The list", lists.LIST),
    ),
    Route(
        "POST /lists/<id:list_id>/members",
        lists.add_members,
        "addMembers",
        "Add contacts to a list",
        Answer(200, "Counts; existing members are left as they are", lists.MEMBERS_ADDED),
        body=MemberIds,
        permission="lists.manage",
        description=BULK,
    ),
    Route(
        "DELETE /lists/<id:list_id>/members",
        lists.remove_members,
        "removeMembers",
        "Remove contacts from a list",
        Answer(200, "Counts", lists.MEMBERS_REMOVED),
        body=MemberIds,
        permission="lists.manage",
        description=BULK,
    ),
    Route(
        "GET /lists/<id:list_id>/members",
        lists.list_members,
        "listMembers",
        "List the members of a list, in pages",
        Answer(200, "One page", contacts.CONTACT_PAGE),
        query=PageQuery,
    ),
)

CAMPAIGNS = tagged(
    "campaigns",
    {"campaign_id": "The campaign's id."},
    Route(
        "POST /campaigns",
        campaigns.create_campaign,
        "createCampaign",
        "Create a draft campaign",
        Answer(201, "Created", campaigns.CAMPAIGN),
        body=CampaignInput,
        permission="campaigns.manage",
        description="Template syntax errors and unknown names are reported per field with their line.",
    ),
    Route(
        "GET /campaigns",
        campaigns.list_campaigns,
        "listCampaigns",
        "List campaigns, newest first",
        Answer(200, "Campaigns", items_of(campaigns.CAMPAIGN)),
    ),
    Route(
        "GET /campaigns/<id:campaign_id>",
        campaigns.get_campaign,
        "getCampaign",
        "Get a campaign with counts by status and skip reason",
        Answer(200, "The campaign", campaigns.CAMPAIGN),
    ),
    Route(
        "POST /campaigns/<id:campaign_id>/duplicate",
        campaigns.duplicate_campaign,
        "duplicateCampaign",
        "Copy a campaign, whatever its status, into a new draft",
        Answer(
            201,
            'The new draft, named "Copy of …", with the same content, template and audience',
            campaigns.CAMPAIGN,
        ),
        errors=(409,),
        permission="campaigns.manage",
        description="409 for a requalification message or a legal notice: they belong to their cycle or incident.",
    ),
    Route(
        "POST /campaigns/<id:campaign_id>/audience-preview",
        campaigns.preview_audience,
        "previewAudience",
        "Count who would receive and who is refused, by reason",
        Answer(200, "Counts; nothing is written", campaigns.AUDIENCE_PREVIEW),
        permission="campaigns.preview",
    ),
    Route(
        "POST /campaigns/<id:campaign_id>/send",
        campaigns.send_campaign,
        "sendCampaign",
        "Plan and send now, or schedule when scheduled_at is in the future",
        Answer(202, "Planned", campaigns.SEND_RESULT),
        body=SendInput,
        errors=(409, 503),
        permission="campaigns.send",
        description="422 names ORG_NAME, ORG_ADDRESS or EMAIL_FROM when the sender identity is not "
        'configured. A scheduled campaign answers 409 unless the body is {"now": true}. 503: Redis is '
        "unreachable; the launch is recorded and its messages leave once Redis is back.",
    ),
    Route(
        "POST /campaigns/<id:campaign_id>/ab-test/winner",
        campaigns.pick_ab_winner,
        "pickAbTestWinner",
        "Pick an A/B test's winner: the rest of the audience receives it",
        Answer(200, "Decided; the rest is being sent", campaigns.CAMPAIGN),
        body=WinnerInput,
        errors=(404, 409),
        permission="campaigns.send",
        description="A person may pick before the decision by clicks. 409 once a winner is chosen, or when the "
        "campaign is cancelled or not launched yet; 404 when the campaign has no A/B test. The rest still "
        "passes the consent gate, person by person, when it is sent.",
    ),
    Route(
        "POST /campaigns/<id:campaign_id>/pause",
        campaigns.pause_campaign,
        "pauseCampaign",
        "Pause sending",
        Answer(200, "Paused", campaigns.CAMPAIGN),
        errors=(409,),
        permission="campaigns.send",
    ),
    Route(
        "POST /campaigns/<id:campaign_id>/resume",
        campaigns.resume_campaign,
        "resumeCampaign",
        "Resume a paused campaign",
        Answer(200, "Sending again", campaigns.CAMPAIGN),
        errors=(409,),
        permission="campaigns.send",
    ),
    Route(
        "POST /campaigns/<id:campaign_id>/cancel",
        campaigns.cancel_campaign,
        "cancelCampaign",
        "Cancel and drop unsent deliveries",
        Answer(200, "Cancelled", campaigns.CAMPAIGN),
        errors=(409,),
        permission="campaigns.send",
    ),
    Route(
        "GET /campaigns/<id:campaign_id>/deliveries",
        campaigns.list_deliveries,
        "listDeliveries",
        "List deliveries, in pages",
        Answer(200, "One page", campaigns.DELIVERY_PAGE),
        query=DeliveriesQuery,
    ),
)

IMPORTS = tagged(
    "imports",
    {"batch_id": "The batch id."},
    Route(
        "POST /imports",
        imports.create_import,
        "createImport",
        "Upload a CSV file with its provenance, and dry-run it",
        Answer(201, "Stored and dry-run; the report is ready", imports.IMPORT_BATCH),
        also=(Answer(202, "Stored; the dry run is queued", imports.IMPORT_BATCH),),
        body=Form(imports.UPLOAD_FORM),
        errors=(409,),
        permission="imports.manage",
        description="A file above IMPORT_INLINE_BYTES answers 202 and is dry-run by a job: poll the batch. "
        "409 when the same file (SHA-256) was already committed. 422 names the bad field, or the row and "
        "line of a malformed file.",
    ),
    Route(
        "GET /imports",
        imports.list_imports,
        "listImports",
        "List import batches, in pages",
        Answer(200, "One page", imports.IMPORT_BATCH_PAGE),
        query=PageQuery,
    ),
    Route(
        "GET /imports/<id:batch_id>",
        imports.get_import,
        "getImport",
        "Get a batch, with its progress while it runs",
        Answer(200, "The batch", imports.IMPORT_BATCH),
    ),
    Route(
        "POST /imports/<id:batch_id>/commit",
        imports.commit_import,
        "commitImport",
        "Commit a batch: create and merge contacts, record consent",
        Answer(200, "Committed", imports.IMPORT_BATCH),
        also=(Answer(202, "The commit is queued", imports.IMPORT_BATCH),),
        errors=(409, 422),
        permission="imports.manage",
        description="Large files answer 202 and commit in a job: poll the batch. 409 when it runs, is "
        "committed, or the same file was committed by another batch.",
    ),
    Route(
        "GET /imports/<id:batch_id>/report",
        imports.import_report_lines,
        "getImportReport",
        "The row report of the latest run, in pages",
        Answer(200, "One page", imports.REPORT_PAGE),
        query=ReportQuery,
    ),
    Route(
        "GET /imports/<id:batch_id>/report.csv",
        imports.import_report_csv,
        "getImportReportCsv",
        "The row report as CSV",
        Answer(200, "CSV with columns row, outcome, column, reason", {"type": "string"}, "text/csv"),
    ),
)

REQUESTS = tagged(
    "requests",
    {"public_id": "The request's id."},
    Route(
        "POST /requests",
        requests.rights_request_create,
        "createRightsRequest",
        "Register a rights request (DPO, admin)",
        Answer(201, "Registered", requests.RIGHTS_REQUEST),
        body=RightsRequestInput,
        permission="requests.manage",
    ),
    Route(
        "GET /requests",
        requests.rights_request_list,
        "listRightsRequests",
        "The register, earliest deadline first",
        Answer(200, "Requests", requests.REGISTER),
        query=RequestsQuery,
        permission="requests.read",
    ),
    Route(
        "GET /requests/<key:public_id>",
        requests.rights_request_get,
        "getRightsRequest",
        "One request",
        Answer(200, "The request", requests.RIGHTS_REQUEST),
        permission="requests.read",
    ),
    Route(
        "POST /requests/<key:public_id>/extension",
        requests.rights_request_extend,
        "extendRightsRequest",
        "Extend the deadline (Art. 12(3))",
        Answer(200, "Extended", requests.RIGHTS_REQUEST),
        body=RightsRequestExtension,
        errors=(409,),
        permission="requests.manage",
    ),
    Route(
        "POST /requests/<key:public_id>/close",
        requests.rights_request_close,
        "closeRightsRequest",
        "Record the answer",
        Answer(200, "Closed", requests.RIGHTS_REQUEST),
        body=RightsRequestClose,
        errors=(409,),
        permission="requests.manage",
    ),
)

SMS = tagged(
    "sms",
    {"reply_id": "The reply's id."},
    Route(
        "GET /sms/replies",
        sms.list_replies,
        "listSmsReplies",
        "List incoming SMS replies (keyword history), newest first",
        Answer(200, "Up to 200 replies", items_of(sms.SMS_REPLY)),
        query=RepliesQuery,
        errors=(404,),
    ),
    Route(
        "POST /sms/replies/<id:reply_id>/review",
        sms.review_reply,
        "reviewSmsReply",
        "Decide on a reply flagged for review",
        Answer(200, "The reply, decided", sms.SMS_REPLY),
        body=ReviewDecision,
        errors=(409,),
        permission="contacts.manage",
    ),
)

REQUALIFICATIONS = tagged(
    "requalification",
    {"campaign_id": "The requalification campaign's id."},
    Route(
        "POST /requalifications",
        requalifications.create_requalification,
        "createRequalification",
        "Create a requalification campaign (draft) with its deadline",
        Answer(201, "Created", requalifications.REQUALIFICATION),
        body=RequalificationInput,
        errors=(409,),
        permission="campaigns.manage",
        description="422 names the field: a deadline in the past, promotional wording, blocks or links "
        "(with the line), a purpose without a consent wording. 409: the purpose has an open cycle. "
        "Start it with POST /campaigns/{id}/send once approved; `sender requalify run` asks and closes.",
    ),
    Route(
        "GET /requalifications",
        requalifications.list_requalifications,
        "listRequalifications",
        "List requalification cycles with their funnels",
        Answer(200, "Cycles", items_of(requalifications.REQUALIFICATION)),
    ),
    Route(
        "GET /requalifications/<id:campaign_id>",
        requalifications.get_requalification,
        "getRequalification",
        "One cycle's deadline, approval and funnel",
        Answer(200, "The cycle", requalifications.REQUALIFICATION),
        errors=(409,),
    ),
    Route(
        "POST /campaigns/<id:campaign_id>/approval",
        requalifications.approve_campaign,
        "approveCampaign",
        "Record the DPO's approval of a requalification campaign",
        Answer(200, "Approved", requalifications.REQUALIFICATION),
        body=ApprovalInput,
        errors=(409,),
        permission="campaigns.approve",
        description="403 when the approver wrote the campaign (REQUALIFICATION_SEPARATE_APPROVAL); "
        "409 when already approved, not a draft, or not a requalification campaign.",
    ),
)

SEQUENCES = tagged(
    "sequences",
    {"sequence_id": "The sequence's id.", "step": "The step's number, from 1."},
    Route(
        "POST /sequences",
        sequences.create_sequence,
        "createSequence",
        "Create a sequence (draft): purpose, trigger and ordered steps, each with its delay and message",
        Answer(201, "Created", sequences.SEQUENCE),
        body=SequenceInput,
        permission="sequences.manage",
        description="422 names the field (steps.N.field for a step's message): the channel's rules and the "
        "sandbox apply as for a campaign. A step waits delay_value delay_unit after the previous one (the "
        "first: after entry), then, with at_time, for that time of day in the organisation's time zone.",
    ),
    Route(
        "GET /sequences",
        sequences.list_sequences,
        "listSequences",
        "List sequences with their funnels",
        Answer(200, "Sequences", items_of(sequences.SEQUENCE)),
    ),
    Route(
        "GET /sequences/<id:sequence_id>",
        sequences.get_sequence,
        "getSequence",
        "One sequence: steps and per-step counts (entered, sent, skipped by reason, exited)",
        Answer(200, "The sequence", sequences.SEQUENCE),
    ),
    Route(
        "PUT /sequences/<id:sequence_id>",
        sequences.update_sequence,
        "updateSequence",
        "Rewrite a draft sequence (its steps replaced in order)",
        Answer(200, "Updated", sequences.SEQUENCE),
        body=SequenceInput,
        errors=(409,),
        permission="sequences.manage",
        description="409 once the sequence was activated.",
    ),
    Route(
        "GET /sequences/<id:sequence_id>/steps/<id:step>/preview",
        sequences.preview_step,
        "previewSequenceStep",
        "A step's message rendered for the sample contact",
        Answer(200, "The message", sequences.PREVIEW),
    ),
    Route(
        "POST /sequences/<id:sequence_id>/activate",
        sequences.activate_sequence,
        "activateSequence",
        "Activate (or resume) a sequence: its trigger enrols people and its steps go out when due",
        Answer(200, "Active", sequences.SEQUENCE),
        errors=(409,),
        permission="sequences.activate",
    ),
    Route(
        "POST /sequences/<id:sequence_id>/pause",
        sequences.pause_sequence,
        "pauseSequence",
        "Pause a sequence: nothing of it leaves, nobody enters, until it is activated again",
        Answer(200, "Paused", sequences.SEQUENCE),
        errors=(409,),
        permission="sequences.activate",
    ),
)

BREACHES = tagged(
    "breaches",
    {"incident_id": "The incident's id.", "campaign_id": "The legal notice campaign's id."},
    Route(
        "POST /breaches",
        breaches.create_incident,
        "createBreachIncident",
        "Record a personal data breach (Art. 33); its 72-hour deadline runs from aware_at",
        Answer(201, "Recorded", breaches.INCIDENT),
        body=IncidentInput,
        permission="breaches.manage",
    ),
    Route(
        "GET /breaches",
        breaches.list_incidents,
        "listBreachIncidents",
        "The breach register, the most recent awareness first",
        Answer(200, "Incidents", items_of(breaches.INCIDENT)),
        permission="breaches.read",
    ),
    Route(
        "GET /breaches/<id:incident_id>",
        breaches.get_incident,
        "getBreachIncident",
        "One incident with its deadline",
        Answer(200, "The incident", breaches.INCIDENT),
        permission="breaches.read",
    ),
    Route(
        "PUT /breaches/<id:incident_id>",
        breaches.update_incident,
        "updateBreachIncident",
        "Replace an incident's facts as they become known (Art. 33(4))",
        Answer(200, "Updated", breaches.INCIDENT),
        body=IncidentInput,
        permission="breaches.manage",
    ),
    Route(
        "POST /breaches/<id:incident_id>/notification",
        breaches.notify_incident,
        "notifyBreachIncident",
        "Record the notification to the supervisory authority",
        Answer(200, "Recorded", breaches.INCIDENT),
        body=NotificationInput,
        permission="breaches.manage",
        description="422 naming late_reasons when notified_at is past aware_at + 72 h without reasons.",
    ),
    Route(
        "GET /breaches/<id:incident_id>/notification",
        breaches.export_notification,
        "exportBreachNotification",
        "The Art. 33(3) notification content, with the Art. 34 communications (audited)",
        Answer(200, "The notification content", breaches.NOTIFICATION),
        permission="breaches.read",
    ),
    Route(
        "POST /breaches/<id:incident_id>/notices",
        breaches.attach_notice,
        "attachBreachNotice",
        "Record a draft legal_notice campaign as the communication to the people affected (Art. 34)",
        Answer(201, "The incident's notices", items_of(breaches.NOTICE)),
        body=NoticeInput,
        errors=(409,),
        permission="breaches.manage",
        description="422 names the field carrying promotion (with its line); 409 when the campaign is not "
        "a draft or already recorded. Send it with POST /campaigns/{id}/send once approved.",
    ),
    Route(
        "POST /breaches/<id:incident_id>/notices/<id:campaign_id>/approval",
        breaches.approve_notice,
        "approveBreachNotice",
        "Record the DPO's approval of a legal notice's content as it stands",
        Answer(200, "The incident's notices", items_of(breaches.NOTICE)),
        body=ApprovalInput,
        errors=(409,),
        permission="campaigns.approve",
        description="An edit after the approval calls for a new one before the notice can be sent.",
    ),
)

PROOFS = tagged(
    "proofs",
    {"public_id": "The contact's public id."},
    Route(
        "GET /contacts/<key:public_id>/honouring",
        proofs.contact_honouring,
        "getContactHonouring",
        "Proof of honouring (R77): every withdrawal and the marketing that left after it",
        Answer(200, "The proof", proofs.CONTACT_HONOURING),
        permission="proofs.read",
    ),
    Route(
        "GET /contacts/<key:public_id>/consent-proof",
        proofs.contact_consent_proof,
        "getContactConsentProof",
        "Proof of consent (R2): every consent event with the wording exactly as shown",
        Answer(200, "The proof", proofs.CONSENT_PROOF),
        permission="proofs.read",
    ),
    Route(
        "GET /honouring",
        proofs.period_honouring,
        "getPeriodHonouring",
        "The organisation's proof of honouring over a period, each exception listed",
        Answer(200, "The proof", proofs.PERIOD_HONOURING),
        query=PeriodQuery,
        permission="proofs.read",
    ),
)

RECORDS = tagged(
    "records",
    {
        "key": "The processor's key: a channel (email, sms) for its provider, or a slug.",
        "slug": "The purpose's slug.",
    },
    Route(
        "GET /processors",
        records.list_processors,
        "listProcessors",
        "The processors and transfers inventory (Art. 28, 44-46)",
        Answer(
            200, "Every processor; `missing` lists what is still to complete", items_of(records.PROCESSOR)
        ),
        permission="records.read",
        description="The channels' providers in use (the relay of SMTP_URL, Twilio once configured) appear "
        "with their known facts until recorded; the local outbox needs none.",
    ),
    Route(
        "PUT /processors/<key:key>",
        records.put_processor,
        "putProcessor",
        "Record or replace a processor's facts",
        Answer(200, "The entry", records.PROCESSOR),
        body=ProcessorInput,
        permission="records.manage",
        description="A channel whose provider is outside the EEA cannot launch until its "
        "transfer_mechanism is one of adequacy, dpf, scc, bcr (422 naming transfer_mechanism).",
    ),
    Route(
        "GET /purposes/<key:slug>/dpia",
        records.get_dpia,
        "getDpia",
        "A purpose's DPIA requirement and record",
        Answer(200, "The DPIA", records.DPIA),
        permission="records.read",
    ),
    Route(
        "PUT /purposes/<key:slug>/dpia/requirement",
        records.put_dpia_requirement,
        "putDpiaRequirement",
        "Mark a purpose as needing a DPIA (Art. 35), with the reasons",
        Answer(200, "The DPIA", records.DPIA),
        body=DpiaRequirementInput,
        permission="records.manage",
        description="While required and no acceptable DPIA record is attached, the purpose's campaigns "
        "cannot launch (422 naming dpia).",
    ),
    Route(
        "PUT /purposes/<key:slug>/dpia",
        records.put_dpia,
        "putDpia",
        "Attach the DPIA record to a purpose",
        Answer(200, "The DPIA", records.DPIA),
        body=DpiaInput,
        permission="records.manage",
    ),
    Route(
        "GET /register",
        records.export_register,
        "exportRegister",
        "The register of processing (Art. 30(1)), generated now",
        Answer(
            200,
            "The register: JSON, or CSV or HTML as `format` asks",
            {"type": "object"},
            alternatives=("text/csv", "text/html"),
        ),
        query=RegisterQuery,
        permission="records.read",
        description="One entry per purpose and per built-in activity, each with `missing`; the export is "
        "recorded in the audit trail.",
    ),
)

AUDIT = tagged(
    "audit",
    {},
    Route(
        "GET /audit",
        audit.audit_events,
        "listAuditEvents",
        "The hash-chained audit trail, newest first (R73): ids and action names, never personal data",
        Answer(200, "Events", audit.AUDIT_PAGE),
        query=AuditQuery,
        permission="audit.read",
    ),
    Route(
        "POST /audit/verify",
        audit.audit_verify,
        "verifyAuditTrail",
        "Verify the chain and its checkpoints now; the result is appended to the trail",
        Answer(200, "The verification", audit.VERIFICATION),
        permission="audit.read",
    ),
)

MESSAGES = tagged(
    "messages",
    {"public_id": "The message's id."},
    Route(
        "POST /messages",
        messages.send_message,
        "sendTransactionalMessage",
        "Send one transactional message to one contact (contract or legal obligation only)",
        Answer(
            202, "Queued (or, for a repeated Idempotency-Key and body, the first answer)", messages.MESSAGE
        ),
        body=MessageInput,
        errors=(409,),
        permission="messages.send",
        description="The purpose's legal basis must be contract or legal_obligation (422 otherwise). The "
        "requalification promotion linter refuses offers, prices and links written in the templates (422). "
        "An erased, restricted, unconfirmed or suppressed contact is refused (409). With an "
        "Idempotency-Key header, the same key and body answer with the first message "
        "(Idempotent-Replayed: true); the same key with another body is refused (409). The message leaves "
        "from the transactional queue, ahead of campaign batches, with the sender's identity and the "
        "privacy-portal link; no unsubscribe link, since neither basis lets the person opt out.",
    ),
    Route(
        "GET /messages/<key:public_id>",
        messages.get_message,
        "getTransactionalMessage",
        "Where a transactional message stands",
        Answer(200, "The message", messages.MESSAGE),
    ),
)

WEBHOOKS = tagged(
    "webhooks",
    {"endpoint_id": "The endpoint's id.", "delivery_id": "The delivery's id."},
    Route(
        "POST /webhooks",
        webhook_endpoints.create_webhook_endpoint,
        "createWebhookEndpoint",
        "Add an outgoing webhook endpoint (https only; private addresses refused)",
        Answer(201, "Created; the secret is shown this once", webhook_endpoints.CREATED),
        body=EndpointInput,
        permission="webhooks.manage",
        description="Events are signed per the Standard Webhooks specification (webhook-id, "
        "webhook-timestamp, webhook-signature) with the secret returned here. Payloads carry ids and the "
        "contact's public id; include_addresses adds the contact's email and phone and is recorded in the "
        "audit trail.",
    ),
    Route(
        "GET /webhooks",
        webhook_endpoints.list_webhook_endpoints,
        "listWebhookEndpoints",
        "List the outgoing webhook endpoints",
        Answer(200, "Every endpoint (never a secret)", items_of(webhook_endpoints.ENDPOINT)),
        permission="webhooks.manage",
    ),
    Route(
        "GET /webhooks/<id:endpoint_id>",
        webhook_endpoints.get_webhook_endpoint,
        "getWebhookEndpoint",
        "Get an outgoing webhook endpoint",
        Answer(200, "The endpoint", webhook_endpoints.ENDPOINT),
        permission="webhooks.manage",
    ),
    Route(
        "PATCH /webhooks/<id:endpoint_id>",
        webhook_endpoints.update_webhook_endpoint,
        "updateWebhookEndpoint",
        "Change an endpoint; enabled=true enables it again and clears its failure count",
        Answer(200, "The changed endpoint", webhook_endpoints.ENDPOINT),
        body=EndpointPatch,
        permission="webhooks.manage",
    ),
    Route(
        "DELETE /webhooks/<id:endpoint_id>",
        webhook_endpoints.delete_webhook_endpoint,
        "deleteWebhookEndpoint",
        "Remove an endpoint and its delivery log",
        Answer(204, "Removed"),
        permission="webhooks.manage",
    ),
    Route(
        "GET /webhooks/<id:endpoint_id>/deliveries",
        webhook_endpoints.list_webhook_deliveries,
        "listWebhookDeliveries",
        "The endpoint's delivery log, newest first",
        Answer(200, "Deliveries", items_of(webhook_endpoints.DELIVERY)),
        permission="webhooks.manage",
    ),
    Route(
        "POST /webhooks/<id:endpoint_id>/deliveries/<id:delivery_id>/replay",
        webhook_endpoints.replay_webhook_delivery,
        "replayWebhookDelivery",
        "Send a delivery again (same webhook-id, a fresh retry window)",
        Answer(202, "Queued", webhook_endpoints.DELIVERY),
        permission="webhooks.manage",
    ),
)

META = tagged(
    "meta",
    {},
    Route(
        "GET /openapi.json",
        openapi,
        "getOpenApi",
        "This document",
        Answer(200, "OpenAPI 3.1 document"),
        public=True,
    ),
)

ROUTES: tuple[Route, ...] = (
    *PURPOSES,
    *CONTACTS,
    *CONSENTS,
    *LISTS,
    *CAMPAIGNS,
    *IMPORTS,
    *REQUESTS,
    *SMS,
    *REQUALIFICATIONS,
    *SEQUENCES,
    *BREACHES,
    *PROOFS,
    *RECORDS,
    *AUDIT,
    *MESSAGES,
    *WEBHOOKS,
    *META,
)
