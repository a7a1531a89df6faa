import type { ReactNode } from 'react';
import { Alert, Form, Input, Modal, Space } from 'antd';
import type { FormItemProps } from 'antd';

/**
 * An audited action that needs a stated reason first (revealing an identity number, emergency access): a warning
 * saying who will see the record of it, the reason, and the server's refusal if any. The form clears once `onSubmit`
 * succeeds.
 */
export function ReasonModal({
  open,
  title,
  okText,
  warning,
  warningDetail,
  label,
  placeholder,
  rules,
  maxLength,
  testIds,
  pending,
  error,
  onSubmit,
  onCancel,
}: {
  open: boolean;
  title: string;
  okText: string;
  warning: ReactNode;
  warningDetail?: ReactNode;
  label: string;
  placeholder: string;
  rules: FormItemProps['rules'];
  maxLength: number;
  testIds: { confirm: string; field: string; error?: string };
  pending: boolean;
  error: Error | null;
  onSubmit: (reason: string) => Promise<unknown>;
  onCancel: () => void;
}) {
  const [form] = Form.useForm<{ reason: string }>();
  return (
    <Modal
      open={open}
      title={title}
      okText={okText}
      okButtonProps={{ danger: true, loading: pending, 'data-testid': testIds.confirm }}
      onOk={() => form.submit()}
      onCancel={onCancel}
      destroyOnHidden
    >
      <Space orientation="vertical" style={{ width: '100%' }} size={16}>
        <Alert type="warning" showIcon title={warning} description={warningDetail} />
        {error && <Alert type="error" showIcon title={error.message} data-testid={testIds.error} />}
        <Form
          form={form}
          layout="vertical"
          onFinish={({ reason }) =>
            onSubmit(reason.trim()).then(
              () => form.resetFields(),
              () => undefined, // the refusal shows above; the reason stays for the user to correct
            )
          }
        >
          <Form.Item name="reason" label={label} rules={rules}>
            <Input.TextArea rows={3} maxLength={maxLength} showCount placeholder={placeholder} data-testid={testIds.field} />
          </Form.Item>
        </Form>
      </Space>
    </Modal>
  );
}
