DROP TABLE whatsapp_store;
