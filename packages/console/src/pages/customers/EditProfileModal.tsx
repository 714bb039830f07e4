import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation } from '@tanstack/react-query';
import { App, Button, Flex, Form, Input, Modal, Select } from 'antd';
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { patch } from '../../api/client';
import type { Customer } from '../../api/types';
import { ProblemAlert } from '../../components/ProblemAlert';
import { KEY_PATTERN, rowsToTraits, traitsToRows, type FieldRow, type Kind } from './profile-fields';

interface FormValues {
  name: string;
  fields: FieldRow[];
}

/** Name and custom fields, validated before they are sent. */
export function EditProfileModal({ open, customer, onClose }: { open: boolean; customer: Customer; onClose: (changed: boolean) => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<FormValues>();
  useEffect(() => {
    if (open) form.setFieldsValue({ name: typeof customer.traits['name'] === 'string' ? customer.traits['name'] : '', fields: traitsToRows(customer.traits) });
  }, [open, customer, form]);
  const save = useMutation({
    mutationFn: (v: FormValues) => patch<Customer>(`/v1/customers/${encodeURIComponent(customer.id)}`, { name: v.name.trim(), traits: rowsToTraits(v.fields ?? [], customer.traits) }),
    onSuccess: () => {
      void message.success(t('common.saved'));
      onClose(true);
    },
  });
  return (
    <Modal open={open} title={t('c360.edit')} onCancel={() => onClose(false)} onOk={() => form.submit()} confirmLoading={save.isPending} width={640} destroyOnHidden forceRender>
      <Form form={form} layout="vertical" onFinish={(v) => save.mutate(v)}>
        <Form.Item name="name" label={t('c360.name')} rules={[{ required: true, whitespace: true, max: 120 }]}>
          <Input maxLength={120} />
        </Form.Item>
        <Form.List
          name="fields"
          rules={[
            {
              validator: async (_r, rows: FieldRow[] | undefined) => {
                const keys = (rows ?? []).map((r) => r?.key?.trim()).filter(Boolean);
                if (new Set(keys).size !== keys.length) throw new Error(t('c360.fieldDuplicate'));
              },
            },
          ]}
        >
          {(fields, { add, remove }, { errors }) => (
            <>
              <div className="ant-form-item-label">
                <label>{t('c360.customFields')}</label>
              </div>
              {fields.map((f) => (
                <Flex key={f.key} gap={8} align="baseline">
                  <Form.Item name={[f.name, 'key']} rules={[{ required: true, pattern: KEY_PATTERN, message: t('c360.fieldKeyRule') }]} style={{ flex: 1 }}>
                    <Input placeholder={t('c360.fieldKey')} />
                  </Form.Item>
                  <Form.Item name={[f.name, 'kind']} initialValue="text" style={{ width: 110 }}>
                    <Select
                      options={[
                        { value: 'text', label: t('c360.kindText') },
                        { value: 'number', label: t('c360.kindNumber') },
                        { value: 'boolean', label: t('c360.kindBoolean') },
                      ]}
                    />
                  </Form.Item>
                  <Form.Item
                    name={[f.name, 'value']}
                    dependencies={[['fields', f.name, 'kind']]}
                    style={{ flex: 1.4 }}
                    rules={[
                      ({ getFieldValue }) => ({
                        validator: async (_r, v: string | undefined) => {
                          const kind = getFieldValue(['fields', f.name, 'kind']) as Kind;
                          if (kind === 'number' && (v === undefined || v.trim() === '' || !Number.isFinite(Number(v)))) throw new Error(t('c360.fieldNumberRule'));
                          if (kind === 'boolean' && v !== 'true' && v !== 'false') throw new Error(t('c360.fieldBooleanRule'));
                        },
                      }),
                    ]}
                  >
                    <Input placeholder={t('c360.fieldValue')} />
                  </Form.Item>
                  <MinusCircleOutlined className="muted" onClick={() => remove(f.name)} aria-label={t('common.remove')} />
                </Flex>
              ))}
              <Form.ErrorList errors={errors} />
              <Button type="dashed" block icon={<PlusOutlined />} onClick={() => add({ key: '', kind: 'text', value: '' })}>
                {t('c360.addField')}
              </Button>
            </>
          )}
        </Form.List>
        <ProblemAlert error={save.error} style={{ marginTop: 16 }} />
      </Form>
    </Modal>
  );
}
