DROP TABLE onboarding;
DROP TABLE bot_notes;
DROP TABLE blocked_numbers;
DROP TABLE conversations;
DROP TABLE bot_configs;
DROP TABLE bot_templates;
